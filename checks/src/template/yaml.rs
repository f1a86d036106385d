//! A template's text as a tree of nodes that remember their line, built from
//! the events of a YAML 1.2 parser (`saphyr-parser`). JSON is YAML too, so
//! JSON templates take the same way and keep their lines.
//!
//! The short-form tags become their long form here (`!Ref X` is the mapping
//! `{Ref: X}`, `!Sub …` is `{Fn::Sub: …}`), so the evaluator sees one form.
//! What CloudFormation does not accept in a template is refused with its
//! line: aliases (and so alias bombs), several documents, a key that is not
//! a scalar, a key given twice
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Deeper than any template needs; the tree is walked recursively later,
/// so the bound keeps a hostile input from exhausting the stack.
const MAX_DEPTH: usize = 64;

/// One value of the template and the line (1-based) it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub line: u32,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Strings and numbers, as written (`3306`, `"3306"` and `'3306'` are
    /// the same to CloudFormation).
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A key of a mapping, its line, and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub line: u32,
    pub value: Node,
}

impl Node {
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of `key` when this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key == key)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }
}

/// Where and why the text is not a template CloudFormation would read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u32,
    pub message: String,
}

fn line_of(span: &Span) -> u32 {
    u32::try_from(span.start.line()).unwrap_or(u32::MAX)
}

/// A collection being read, with the tag it was opened with.
enum Open {
    Seq {
        line: u32,
        tag: Option<String>,
        items: Vec<Node>,
    },
    Map {
        line: u32,
        tag: Option<String>,
        entries: Vec<Entry>,
        key: Option<(String, u32)>,
    },
}

/// The long-form key of a short-form tag: `!Ref` → `Ref`, `!Sub` →
/// `Fn::Sub`, `!Condition` → `Condition`. `None` for the core schema's
/// own tags (`!!str`), which change nothing here.
fn tag_key(handle: &str, suffix: &str, line: u32) -> Result<Option<String>, SyntaxError> {
    match handle {
        "!!" | "tag:yaml.org,2002:" => Ok(None),
        "!" if matches!(suffix, "Ref" | "Condition") => Ok(Some(suffix.to_string())),
        "!" if !suffix.is_empty() => Ok(Some(format!("Fn::{suffix}"))),
        _ => Err(SyntaxError {
            line,
            message: format!("the tag {handle}{suffix} is not a CloudFormation function"),
        }),
    }
}

/// `value` under its tag: `{Fn::Sub: value}`.
fn tagged(tag: Option<String>, node: Node) -> Node {
    match tag {
        None => node,
        Some(key) => Node {
            line: node.line,
            value: Value::Map(vec![Entry {
                key,
                line: node.line,
                value: node,
            }]),
        },
    }
}

fn scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => Value::Str(text.to_string()),
    }
}

/// The tree of `text`, or the first reason it is not one CloudFormation reads.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| SyntaxError {
            line: u32::try_from(e.marker().line()).unwrap_or(u32::MAX),
            message: e.info().to_string(),
        })?;
        let line = line_of(&span);
        let tag_of = |tag: &Option<std::borrow::Cow<'_, saphyr_parser::Tag>>| match tag {
            Some(tag) => tag_key(&tag.handle, &tag.suffix, line),
            None => Ok(None),
        };
        let done = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        line,
                        message: "a template is one YAML document, and this file has another"
                            .to_string(),
                    });
                }
                None
            }
            Event::Alias(_) => {
                return Err(SyntaxError {
                    line,
                    message: "CloudFormation does not accept YAML aliases (*name)".to_string(),
                })
            }
            Event::Scalar(text, style, _, tag) => {
                let tag = tag_of(&tag)?;
                Some(tagged(
                    tag,
                    Node {
                        line,
                        value: scalar(&text, style),
                    },
                ))
            }
            Event::SequenceStart(_, ref tag) | Event::MappingStart(_, ref tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError {
                        line,
                        message: format!("the template nests deeper than {MAX_DEPTH} levels"),
                    });
                }
                if let Some(Open::Map { key: None, .. }) = stack.last() {
                    return Err(SyntaxError {
                        line,
                        message: "a mapping key must be a plain value, not a list or a mapping"
                            .to_string(),
                    });
                }
                let tag = tag_of(tag)?;
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Open::Seq {
                        line,
                        tag,
                        items: Vec::new(),
                    }
                } else {
                    Open::Map {
                        line,
                        tag,
                        entries: Vec::new(),
                        key: None,
                    }
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Seq { line, tag, items }) => Some(tagged(
                    tag,
                    Node {
                        line,
                        value: Value::Seq(items),
                    },
                )),
                Some(Open::Map {
                    line, tag, entries, ..
                }) => Some(tagged(
                    tag,
                    Node {
                        line,
                        value: Value::Map(entries),
                    },
                )),
                None => None,
            },
            _ => None,
        };
        let Some(node) = done else { continue };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                Some((key, key_line)) => entries.push(Entry {
                    key,
                    line: key_line,
                    value: node,
                }),
                None => {
                    let text = match node.value {
                        Value::Str(text) => text,
                        Value::Bool(b) => b.to_string(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(SyntaxError {
                                line: node.line,
                                message: "a mapping key must be a plain value, not a function"
                                    .to_string(),
                            })
                        }
                    };
                    if entries.iter().any(|e| e.key == text) {
                        return Err(SyntaxError {
                            line: node.line,
                            message: format!("the key {text:?} is given twice in one mapping"),
                        });
                    }
                    *key = Some((text, node.line));
                }
            },
        }
    }
    Ok(root.unwrap_or(Node {
        line: 1,
        value: Value::Null,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> SyntaxError {
        parse(text).expect_err("must be refused")
    }

    #[test]
    fn yaml_keeps_lines_and_long_forms_the_short_tags() {
        let tree = parse(
            "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      VpcId: !Ref Vpc\n      Name: !GetAtt [A, B]\n      N: 3306\n      Q: 'true'\n      B: true\n      E:\n",
        )
        .unwrap();
        let sg = tree.get("Resources").unwrap().get("Sg").unwrap();
        assert_eq!(sg.line, 3);
        assert_eq!(tree.get("Resources").unwrap().entry("Sg").unwrap().line, 2);
        let props = sg.get("Properties").unwrap();
        let vpc = props.get("VpcId").unwrap();
        assert_eq!(vpc.line, 5);
        assert_eq!(vpc.get("Ref").unwrap().as_str(), Some("Vpc"));
        let att = props.get("Name").unwrap().get("Fn::GetAtt").unwrap();
        assert!(matches!(&att.value, Value::Seq(items) if items.len() == 2));
        assert_eq!(props.get("N").unwrap().as_str(), Some("3306"));
        assert_eq!(props.get("Q").unwrap().value, Value::Str("true".into()));
        assert_eq!(props.get("B").unwrap().value, Value::Bool(true));
        assert_eq!(props.get("E").unwrap().value, Value::Null);
    }

    #[test]
    fn json_keeps_lines_too() {
        let text = "{\n  \"Resources\": {\n    \"Sg\": {\n      \"Type\": \"AWS::EC2::SecurityGroup\",\n      \"Properties\": {\"VpcId\": {\"Ref\": \"Vpc\"}, \"Port\": 3306, \"On\": true}\n    }\n  }\n}\n";
        let tree = parse(text).unwrap();
        let sg = tree.get("Resources").unwrap().entry("Sg").unwrap();
        assert_eq!(sg.line, 3);
        let props = sg.value.get("Properties").unwrap();
        assert_eq!(props.line, 5);
        assert_eq!(props.get("Port").unwrap().as_str(), Some("3306"));
        assert_eq!(props.get("On").unwrap().value, Value::Bool(true));
    }

    #[test]
    fn json_indented_with_tabs_reads() {
        let text = "{\n\t\"Resources\": {\n\t\t\"A\": {\"Type\": \"X\"}\n\t}\n}\n";
        let tree = parse(text).unwrap();
        assert_eq!(tree.get("Resources").unwrap().entry("A").unwrap().line, 3);
    }

    #[test]
    fn what_cloudformation_refuses_is_refused_with_its_line() {
        assert_eq!(error("a: &x 1\nb: *x\n").line, 2);
        assert!(error("a: 1\n---\nb: 2\n")
            .message
            .contains("one YAML document"));
        assert_eq!(error("a: 1\nb: 2\na: 3\n").line, 3);
        assert!(error("? [a]\n: 1\n").message.contains("plain value"));
        assert_eq!(error("a: !<tag:example.com,2000:x> 1\n").line, 1);
        assert_eq!(error("a:\n  b: [1, 2\n").line, 3);
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&deep).is_err());
        let block: String = (0..100).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(error(&block).message.contains("deeper"));
    }

    #[test]
    fn an_empty_file_is_null() {
        assert_eq!(parse("").unwrap().value, Value::Null);
        assert_eq!(parse("# nothing\n").unwrap().value, Value::Null);
    }
}
