//! The values of a template's properties: parameters, pseudo parameters,
//! conditions, mappings and the intrinsic functions, evaluated the way
//! CloudFormation does before it creates anything
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html).
//!
//! What only a deployment knows (a parameter without a value, another
//! stack's export, an SSM parameter) evaluates to `Val::Unresolved` with a
//! sentence saying why; the facts built from it become unavailable. What a
//! deployment would refuse (an unknown function, a reference to nothing, a
//! function given the wrong arguments) is an error with its line.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::yaml::{Node, Value};
use super::TemplateError;

/// How deep references and functions may nest while one value is worked
/// out: far beyond real templates, and a bound on the evaluator's stack.
const MAX_DEPTH: usize = 200;

/// The account id a template stands for until it is deployed (pseudo
/// parameter `AWS::AccountId`). Every ARN the template builds carries the
/// same text, so ARNs compare within the template; a literal account id
/// written in the template is another account as far as this tool can tell.
pub const ACCOUNT_PLACEHOLDER: &str = "ACCOUNT_ID";

/// An evaluated value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Str(String),
    List(Vec<Val>),
    Map(Vec<(String, Val)>),
    /// `AWS::NoValue`: the property is as if not written.
    NoValue,
    /// Known only after deployment; the sentence says why.
    Unresolved(String),
}

impl Val {
    /// The text of a string, number or boolean.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Val::Str(s) => Some(s.clone()),
            Val::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Val> {
        match self {
            Val::Map(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .filter(|v| **v != Val::NoValue),
            _ => None,
        }
    }

    /// The first reason anything in this value is unresolved.
    pub fn unresolved(&self) -> Option<&str> {
        match self {
            Val::Unresolved(why) => Some(why),
            Val::List(items) => items.iter().find_map(Val::unresolved),
            Val::Map(entries) => entries.iter().find_map(|(_, v)| v.unresolved()),
            _ => None,
        }
    }

    /// As JSON (a policy document, a secret template); `None` when part of
    /// it is unresolved.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Val::Null | Val::NoValue => serde_json::Value::Null,
            Val::Bool(b) => serde_json::Value::Bool(*b),
            Val::Str(s) => serde_json::Value::String(s.clone()),
            Val::List(items) => serde_json::Value::Array(
                items
                    .iter()
                    .filter(|v| **v != Val::NoValue)
                    .map(Val::to_json)
                    .collect::<Option<_>>()?,
            ),
            Val::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .filter(|(_, v)| *v != Val::NoValue)
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            Val::Unresolved(_) => return None,
        })
    }
}

/// What `Ref` and `Fn::GetAtt` give for resources: the resource model
/// answers (`resources.rs`), so that the identity a fact uses and the value
/// a reference gives are one.
pub trait ResourceValues {
    /// `Ref` of the resource; `None` when there is no such resource.
    fn reference(&self, ctx: &Context, id: &str) -> Option<Result<Val, TemplateError>>;
    /// `Fn::GetAtt` of the resource, whose existence is known.
    fn attribute(&self, ctx: &Context, id: &str, attribute: &str) -> Result<Val, TemplateError>;
}

/// What every evaluation reads: the template's parameters, conditions and
/// mappings, the pseudo parameters, and the resources.
pub struct Context<'a> {
    pub region: String,
    pub partition: String,
    pub url_suffix: String,
    pub account: String,
    pub stack_name: String,
    /// Each parameter's value: given, its default, or unresolved.
    pub parameters: BTreeMap<String, Val>,
    pub conditions: BTreeMap<String, &'a Node>,
    pub mappings: Option<&'a Node>,
    pub resources: &'a dyn ResourceValues,
    /// Conditions decided so far (`Err`: unresolved, with why).
    decided: RefCell<BTreeMap<String, Result<bool, String>>>,
    /// Conditions being decided, to refuse one that needs itself.
    deciding: RefCell<BTreeSet<String>>,
    depth: RefCell<usize>,
}

/// `err(line, …)`: an error at a line of the template.
fn err<T>(line: u32, message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError {
        line,
        message: message.into(),
    })
}

impl<'a> Context<'a> {
    pub fn new(
        region: &str,
        account: &str,
        stack_name: &str,
        parameters: BTreeMap<String, Val>,
        conditions: BTreeMap<String, &'a Node>,
        mappings: Option<&'a Node>,
        resources: &'a dyn ResourceValues,
    ) -> Context<'a> {
        let (partition, url_suffix) = partition_of(region);
        Context {
            region: region.to_string(),
            partition: partition.to_string(),
            url_suffix: url_suffix.to_string(),
            account: account.to_string(),
            stack_name: stack_name.to_string(),
            parameters,
            conditions,
            mappings,
            resources,
            decided: RefCell::new(BTreeMap::new()),
            deciding: RefCell::new(BTreeSet::new()),
            depth: RefCell::new(0),
        }
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` in this template's
    /// region and account.
    pub fn arn(&self, service: &str, region: bool, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition,
            if region { self.region.as_str() } else { "" },
            self.account
        )
    }

    /// The value of a pseudo parameter, or `None` for another name.
    fn pseudo(&self, name: &str) -> Option<Val> {
        Some(match name {
            "AWS::Region" => Val::Str(self.region.clone()),
            "AWS::AccountId" => Val::Str(self.account.clone()),
            "AWS::Partition" => Val::Str(self.partition.clone()),
            "AWS::URLSuffix" => Val::Str(self.url_suffix.clone()),
            "AWS::StackName" => Val::Str(self.stack_name.clone()),
            "AWS::StackId" => Val::Str(self.arn(
                "cloudformation",
                true,
                &format!("stack/{}/STACK_ID", self.stack_name),
            )),
            "AWS::NotificationARNs" => Val::List(Vec::new()),
            "AWS::NoValue" => Val::NoValue,
            _ => return None,
        })
    }

    /// `Ref NAME`: a parameter, a pseudo parameter or a resource.
    pub fn reference(&self, name: &str, line: u32) -> Result<Val, TemplateError> {
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        if let Some(value) = self.pseudo(name) {
            return Ok(value);
        }
        match self.resources.reference(self, name) {
            Some(value) => value,
            None => err(
                line,
                format!("Ref {name}: there is no parameter or resource {name}"),
            ),
        }
    }

    /// Whether condition `name` holds; `Err` inside: unresolved, and why.
    pub fn condition(&self, name: &str, line: u32) -> Result<Result<bool, String>, TemplateError> {
        if let Some(known) = self.decided.borrow().get(name) {
            return Ok(known.clone());
        }
        let Some(node) = self.conditions.get(name).copied() else {
            return err(line, format!("there is no condition {name}"));
        };
        if !self.deciding.borrow_mut().insert(name.to_string()) {
            return err(line, format!("condition {name} depends on itself"));
        }
        let decided = self.decide(node);
        self.deciding.borrow_mut().remove(name);
        let decided = decided?;
        self.decided
            .borrow_mut()
            .insert(name.to_string(), decided.clone());
        Ok(decided)
    }

    /// A condition function: `Fn::Equals`, `And`, `Or`, `Not`, `Condition`.
    fn decide(&self, node: &Node) -> Result<Result<bool, String>, TemplateError> {
        let (name, args) = function(node).ok_or_else(|| TemplateError {
            line: node.line,
            message: "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition"
                .to_string(),
        })?;
        self.enter(node.line)?;
        let decided = self.decide_function(name, args, node.line);
        self.leave();
        decided
    }

    fn decide_function(
        &self,
        name: &str,
        args: &Node,
        line: u32,
    ) -> Result<Result<bool, String>, TemplateError> {
        match name {
            "Condition" => {
                let Some(other) = args.as_str() else {
                    return err(line, "Condition takes a condition's name");
                };
                self.condition(other, line)
            }
            "Fn::Equals" => {
                let [a, b] = list_args::<2>(args, name)?;
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                if let Some(why) = a.unresolved().or(b.unresolved()) {
                    return Ok(Err(why.to_string()));
                }
                Ok(Ok(comparable(&a) == comparable(&b)))
            }
            "Fn::Not" => {
                let [inner] = list_args::<1>(args, name)?;
                Ok(self.decide(inner)?.map(|b| !b))
            }
            "Fn::And" | "Fn::Or" => {
                let Value::Seq(items) = &args.value else {
                    return err(line, format!("{name} takes a list of conditions"));
                };
                if items.len() < 2 || items.len() > 10 {
                    return err(line, format!("{name} takes 2 to 10 conditions"));
                }
                let mut unresolved = None;
                for item in items {
                    match self.decide(item)? {
                        Ok(b) if name == "Fn::And" && !b => return Ok(Ok(false)),
                        Ok(b) if name == "Fn::Or" && b => return Ok(Ok(true)),
                        Ok(_) => {}
                        Err(why) => unresolved = unresolved.or(Some(why)),
                    }
                }
                Ok(match unresolved {
                    Some(why) => Err(why),
                    None => Ok(name == "Fn::And"),
                })
            }
            other => err(line, format!("{other} is not a condition function")),
        }
    }

    fn enter(&self, line: u32) -> Result<(), TemplateError> {
        let mut depth = self.depth.borrow_mut();
        if *depth >= MAX_DEPTH {
            return err(
                line,
                format!("functions and references nest deeper than {MAX_DEPTH} levels"),
            );
        }
        *depth += 1;
        Ok(())
    }

    fn leave(&self) {
        let mut depth = self.depth.borrow_mut();
        *depth = depth.saturating_sub(1);
    }

    /// The value of a node, its functions evaluated.
    pub fn eval(&self, node: &Node) -> Result<Val, TemplateError> {
        self.enter(node.line)?;
        let value = self.eval_inner(node);
        self.leave();
        value
    }

    fn eval_inner(&self, node: &Node) -> Result<Val, TemplateError> {
        match &node.value {
            Value::Null => Ok(Val::Null),
            Value::Bool(b) => Ok(Val::Bool(*b)),
            Value::Str(s) => Ok(Val::Str(s.clone())),
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match self.eval(item)? {
                        Val::NoValue => {}
                        value => out.push(value),
                    }
                }
                Ok(Val::List(out))
            }
            Value::Map(entries) => {
                if let Some((name, args)) = function(node) {
                    return self.call(name, args, node.line);
                }
                let mut out = Vec::with_capacity(entries.len());
                for entry in entries {
                    out.push((entry.key.clone(), self.eval(&entry.value)?));
                }
                Ok(Val::Map(out))
            }
        }
    }

    fn call(&self, name: &str, args: &Node, line: u32) -> Result<Val, TemplateError> {
        match name {
            "Ref" => {
                let Some(target) = args.as_str() else {
                    return err(line, "Ref takes a name");
                };
                self.reference(target, line)
            }
            "Fn::GetAtt" => {
                let (id, attribute) = get_att_args(args)?;
                self.get_att(&id, &attribute, line)
            }
            "Fn::Sub" => self.sub(args, line),
            "Fn::Join" => {
                let [delimiter, items] = list_args::<2>(args, name)?;
                let delimiter = self.text(delimiter, name)?;
                let items = match self.eval(items)? {
                    Val::List(items) => items,
                    Val::Unresolved(why) => return Ok(Val::Unresolved(why)),
                    _ => return err(line, "Fn::Join takes a delimiter and a list"),
                };
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Val::Unresolved(why) => return Ok(Val::Unresolved(why)),
                        other => match other.as_text() {
                            Some(text) => parts.push(text),
                            None => return err(line, "Fn::Join joins strings only"),
                        },
                    }
                }
                Ok(Val::Str(parts.join(&delimiter)))
            }
            "Fn::Select" => {
                let [index, items] = list_args::<2>(args, name)?;
                let index = match self.eval(index)? {
                    Val::Unresolved(why) => return Ok(Val::Unresolved(why)),
                    value => value.as_text().and_then(|t| t.trim().parse::<usize>().ok()),
                };
                let Some(index) = index else {
                    return err(line, "Fn::Select takes an index that is a number");
                };
                match self.eval(items)? {
                    Val::List(items) => match items.into_iter().nth(index) {
                        Some(item) => Ok(item),
                        None => err(line, format!("Fn::Select: the list has no item {index}")),
                    },
                    Val::Unresolved(why) => Ok(Val::Unresolved(why)),
                    _ => err(line, "Fn::Select takes an index and a list"),
                }
            }
            "Fn::Split" => {
                let [delimiter, source] = list_args::<2>(args, name)?;
                let delimiter = self.text(delimiter, name)?;
                if delimiter.is_empty() {
                    return err(line, "Fn::Split needs a delimiter");
                }
                match self.eval(source)? {
                    Val::Unresolved(why) => Ok(Val::Unresolved(why)),
                    value => match value.as_text() {
                        Some(text) => Ok(Val::List(
                            text.split(delimiter.as_str())
                                .map(|s| Val::Str(s.to_string()))
                                .collect(),
                        )),
                        None => err(line, "Fn::Split splits a string"),
                    },
                }
            }
            "Fn::If" => {
                let [condition, then, otherwise] = list_args::<3>(args, name)?;
                let Some(condition) = condition.as_str() else {
                    return err(line, "Fn::If takes a condition's name first");
                };
                match self.condition(condition, line)? {
                    Ok(true) => self.eval(then),
                    Ok(false) => self.eval(otherwise),
                    Err(why) => Ok(Val::Unresolved(format!(
                        "condition {condition} cannot be decided: {why}"
                    ))),
                }
            }
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" | "Condition" => {
                Ok(match self.decide_function(name, args, line)? {
                    Ok(b) => Val::Bool(b),
                    Err(why) => Val::Unresolved(why),
                })
            }
            "Fn::FindInMap" => self.find_in_map(args, line),
            "Fn::GetAZs" => {
                let region = match self.eval(args)? {
                    Val::Unresolved(why) => return Ok(Val::Unresolved(why)),
                    value => value.as_text().unwrap_or_default(),
                };
                let region = if region.is_empty() {
                    self.region.clone()
                } else {
                    region
                };
                // The account's real list is unknown before deployment; the
                // zone letters stand for it (regions have three to six).
                Ok(Val::List(
                    ["a", "b", "c", "d", "e", "f"]
                        .iter()
                        .map(|z| Val::Str(format!("{region}{z}")))
                        .collect(),
                ))
            }
            "Fn::Cidr" => self.cidr(args, line),
            "Fn::ImportValue" => {
                let export = match self.eval(args)? {
                    Val::Unresolved(why) => return Ok(Val::Unresolved(why)),
                    value => value.as_text().unwrap_or_default(),
                };
                Ok(Val::Unresolved(format!(
                    "Fn::ImportValue {export} reads another stack's export, known only after deployment"
                )))
            }
            "Fn::Base64" => match self.eval(args)? {
                Val::Unresolved(why) => Ok(Val::Unresolved(why)),
                value => match value.as_text() {
                    Some(text) => Ok(Val::Str(base64(text.as_bytes()))),
                    None => err(line, "Fn::Base64 encodes a string"),
                },
            },
            other => err(
                line,
                format!("{other} is not an intrinsic function rotation-doctor knows"),
            ),
        }
    }

    /// The text of a node that must be a string.
    fn text(&self, node: &Node, function: &str) -> Result<String, TemplateError> {
        match self.eval(node)? {
            value @ (Val::Str(_) | Val::Bool(_)) => Ok(value.as_text().unwrap_or_default()),
            _ => err(node.line, format!("{function} needs a string here")),
        }
    }

    pub fn get_att(&self, id: &str, attribute: &str, line: u32) -> Result<Val, TemplateError> {
        match self.resources.reference(self, id) {
            None => err(
                line,
                format!("Fn::GetAtt {id}.{attribute}: there is no resource {id}"),
            ),
            Some(_) => self.resources.attribute(self, id, attribute),
        }
    }

    fn sub(&self, args: &Node, line: u32) -> Result<Val, TemplateError> {
        let (text, variables) = match &args.value {
            Value::Str(text) => (text.as_str(), None),
            Value::Seq(items) if items.len() == 2 => {
                let Some(text) = items[0].as_str() else {
                    return err(line, "Fn::Sub takes a string first");
                };
                (text, Some(&items[1]))
            }
            _ => return err(line, "Fn::Sub takes a string, or a string and a map"),
        };
        let mut values: BTreeMap<&str, Val> = BTreeMap::new();
        if let Some(variables) = variables {
            let Some(entries) = variables.as_map() else {
                return err(line, "Fn::Sub's variables must be a map");
            };
            for entry in entries {
                values.insert(&entry.key, self.eval(&entry.value)?);
            }
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return err(line, "Fn::Sub: a ${ has no closing }");
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let name = name.trim();
            let value = match values.get(name) {
                Some(value) => value.clone(),
                None => match name.split_once('.') {
                    Some((id, attribute))
                        if !self.parameters.contains_key(name) && self.pseudo(name).is_none() =>
                    {
                        self.get_att(id, attribute, line)?
                    }
                    _ => self.reference(name, line)?,
                },
            };
            match value {
                Val::Unresolved(why) => return Ok(Val::Unresolved(why)),
                other => match other.as_text() {
                    Some(text) => out.push_str(&text),
                    None => {
                        return err(line, format!("Fn::Sub: ${{{name}}} is not a string"));
                    }
                },
            }
        }
        out.push_str(rest);
        Ok(Val::Str(out))
    }

    fn find_in_map(&self, args: &Node, line: u32) -> Result<Val, TemplateError> {
        let [map, top, second] = list_args::<3>(args, "Fn::FindInMap")?;
        let mut keys = Vec::new();
        for key in [map, top, second] {
            match self.eval(key)? {
                Val::Unresolved(why) => return Ok(Val::Unresolved(why)),
                value => match value.as_text() {
                    Some(text) => keys.push(text),
                    None => return err(line, "Fn::FindInMap takes three names"),
                },
            }
        }
        let found = self
            .mappings
            .and_then(|m| m.get(&keys[0]))
            .and_then(|m| m.get(&keys[1]))
            .and_then(|m| m.get(&keys[2]));
        match found {
            Some(node) => self.eval(node),
            None => err(
                line,
                format!(
                    "Fn::FindInMap: the mapping {} has no {} / {}",
                    keys[0], keys[1], keys[2]
                ),
            ),
        }
    }

    fn cidr(&self, args: &Node, line: u32) -> Result<Val, TemplateError> {
        let [block, count, bits] = list_args::<3>(args, "Fn::Cidr")?;
        let mut texts = Vec::new();
        for node in [block, count, bits] {
            match self.eval(node)? {
                Val::Unresolved(why) => return Ok(Val::Unresolved(why)),
                value => match value.as_text() {
                    Some(text) => texts.push(text),
                    None => return err(line, "Fn::Cidr takes a CIDR block and two numbers"),
                },
            }
        }
        let block: ipnet::IpNet = texts[0].trim().parse().map_err(|_| TemplateError {
            line,
            message: format!("Fn::Cidr: {} is not a CIDR block", texts[0]),
        })?;
        let (Ok(count), Ok(bits)) = (
            texts[1].trim().parse::<usize>(),
            texts[2].trim().parse::<u8>(),
        ) else {
            return err(line, "Fn::Cidr's count and bits must be numbers");
        };
        let width = block.max_prefix_len();
        let prefix = width.checked_sub(bits).filter(|p| *p >= block.prefix_len());
        let subnets = match prefix {
            Some(prefix) if (1..=256).contains(&count) => block.subnets(prefix).ok(),
            _ => None,
        };
        let Some(subnets) = subnets else {
            return err(
                line,
                format!("Fn::Cidr cannot cut {count} blocks of {bits} bits from {block}"),
            );
        };
        let list: Vec<Val> = subnets
            .take(count)
            .map(|n| Val::Str(n.to_string()))
            .collect();
        if list.len() < count {
            return err(
                line,
                format!("Fn::Cidr: {block} holds fewer than {count} blocks of {bits} bits"),
            );
        }
        Ok(Val::List(list))
    }
}

/// `aws`, `aws-cn` or `aws-us-gov`, and the matching URL suffix.
pub fn partition_of(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("cn-") {
        ("aws-cn", "amazonaws.com.cn")
    } else if region.starts_with("us-gov-") {
        ("aws-us-gov", "amazonaws.com")
    } else {
        ("aws", "amazonaws.com")
    }
}

/// The function a node calls: a mapping with one key that is `Ref`,
/// `Condition` or `Fn::…`.
pub fn function(node: &Node) -> Option<(&str, &Node)> {
    match node.as_map()? {
        [entry]
            if entry.key == "Ref"
                || entry.key.starts_with("Fn::")
                // `Condition` names a condition; a mapping under that key
                // is data (an IAM statement's conditions).
                || (entry.key == "Condition" && entry.value.as_str().is_some()) =>
        {
            Some((&entry.key, &entry.value))
        }
        _ => None,
    }
}

/// The functions this evaluator knows: the intrinsic functions, the
/// condition functions and `Ref`.
const KNOWN: &[&str] = &[
    "Ref",
    "Condition",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::If",
    "Fn::Equals",
    "Fn::And",
    "Fn::Or",
    "Fn::Not",
    "Fn::FindInMap",
    "Fn::GetAZs",
    "Fn::Cidr",
    "Fn::ImportValue",
    "Fn::Base64",
];

/// Refuses a function this evaluator does not know anywhere under `node`,
/// whether or not its value is needed, with its line.
pub fn known_functions(node: &Node) -> Result<(), TemplateError> {
    match &node.value {
        Value::Seq(items) => items.iter().try_for_each(known_functions),
        Value::Map(entries) => {
            if let Some((name, _)) = function(node) {
                if !KNOWN.contains(&name) {
                    return err(
                        node.line,
                        format!("{name} is not an intrinsic function rotation-doctor knows"),
                    );
                }
            }
            entries.iter().try_for_each(|e| known_functions(&e.value))
        }
        _ => Ok(()),
    }
}

/// `Fn::GetAtt`'s resource and attribute, from `[Res, Attr]` or `Res.Attr`.
pub fn get_att_args(args: &Node) -> Result<(String, String), TemplateError> {
    let bad = || TemplateError {
        line: args.line,
        message: "Fn::GetAtt takes a resource and an attribute".to_string(),
    };
    match &args.value {
        Value::Str(text) => text
            .split_once('.')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .ok_or_else(bad),
        Value::Seq(items) if items.len() == 2 => {
            let id = items[0].as_str().ok_or_else(bad)?;
            let attribute = items[1].as_str().ok_or_else(bad)?;
            Ok((id.to_string(), attribute.to_string()))
        }
        _ => Err(bad()),
    }
}

fn list_args<'n, const N: usize>(
    args: &'n Node,
    name: &str,
) -> Result<[&'n Node; N], TemplateError> {
    match &args.value {
        Value::Seq(items) if items.len() == N => {
            let refs: Vec<&Node> = items.iter().collect();
            refs.try_into().map_err(|_| TemplateError {
                line: args.line,
                message: format!("{name} takes {N} arguments"),
            })
        }
        _ => err(
            args.line,
            format!(
                "{name} takes a list of {N} argument{}",
                if N == 1 { "" } else { "s" }
            ),
        ),
    }
}

/// Values as `Fn::Equals` compares them: strings, numbers and booleans by
/// their text.
fn comparable(value: &Val) -> Val {
    match value {
        Val::Bool(b) => Val::Str(b.to_string()),
        other => other.clone(),
    }
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every resource a node refers to (`Ref`, `Fn::GetAtt`, `Fn::Sub`'s
/// `${Res}` and `${Res.Attr}`), with the line of the reference, for the
/// dependency graph. Names that are parameters or pseudo parameters are
/// left out by the caller.
pub fn references(node: &Node, out: &mut Vec<(String, u32)>) {
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|i| references(i, out)),
        Value::Map(entries) => {
            if let Some((name, args)) = function(node) {
                match name {
                    "Ref" => {
                        if let Some(target) = args.as_str() {
                            out.push((target.to_string(), node.line));
                        }
                        return;
                    }
                    "Fn::GetAtt" => {
                        if let Ok((id, _)) = get_att_args(args) {
                            out.push((id, node.line));
                        }
                        return;
                    }
                    "Fn::Sub" => {
                        let (text, variables) = match &args.value {
                            Value::Str(text) => (Some(text.as_str()), None),
                            Value::Seq(items) if items.len() == 2 => {
                                (items[0].as_str(), items[1].as_map())
                            }
                            _ => (None, None),
                        };
                        let local: Vec<&str> = variables
                            .map(|v| v.iter().map(|e| e.key.as_str()).collect())
                            .unwrap_or_default();
                        for name in sub_names(text.unwrap_or_default()) {
                            if local.contains(&name) {
                                continue;
                            }
                            let id = name.split_once('.').map_or(name, |(id, _)| id);
                            out.push((id.to_string(), node.line));
                        }
                        if let Some(variables) = variables {
                            variables.iter().for_each(|e| references(&e.value, out));
                        }
                        return;
                    }
                    _ => {}
                }
            }
            entries.iter().for_each(|e| references(&e.value, out));
        }
        _ => {}
    }
}

/// The `${…}` names of a `Fn::Sub` string, without `${!…}` literals.
fn sub_names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = after[..end].trim();
        if !name.starts_with('!') && !name.is_empty() {
            names.push(name);
        }
        rest = &after[end + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::yaml::parse;

    /// Resources `Db` (an instance) and `Sg` (a group), for references.
    struct Two;

    impl ResourceValues for Two {
        fn reference(&self, _: &Context, id: &str) -> Option<Result<Val, TemplateError>> {
            matches!(id, "Db" | "Sg").then(|| Ok(Val::Str(id.to_string())))
        }
        fn attribute(&self, _: &Context, id: &str, attribute: &str) -> Result<Val, TemplateError> {
            Ok(match (id, attribute) {
                ("Db", "Endpoint.Address") => Val::Str("db.example".into()),
                _ => Val::Unresolved(format!("{id}.{attribute} is known after deployment")),
            })
        }
    }

    fn context<'a>(template: &'a Node, parameters: &[(&str, Val)]) -> Context<'a> {
        let conditions = template
            .get("Conditions")
            .and_then(Node::as_map)
            .map(|entries| entries.iter().map(|e| (e.key.clone(), &e.value)).collect())
            .unwrap_or_default();
        Context::new(
            "eu-west-1",
            ACCOUNT_PLACEHOLDER,
            "lab",
            parameters
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            conditions,
            template.get("Mappings"),
            &Two,
        )
    }

    /// The value of `V` in a small template.
    fn value(yaml: &str) -> Result<Val, TemplateError> {
        value_with(yaml, &[])
    }

    fn value_with(yaml: &str, parameters: &[(&str, Val)]) -> Result<Val, TemplateError> {
        let tree = parse(yaml).unwrap();
        let ctx = context(&tree, parameters);
        ctx.eval(tree.get("V").unwrap())
    }

    fn s(text: &str) -> Val {
        Val::Str(text.to_string())
    }

    #[test]
    fn ref_gives_parameters_pseudo_parameters_and_resources() {
        assert_eq!(value_with("V: !Ref P", &[("P", s("x"))]).unwrap(), s("x"));
        assert_eq!(value("V: !Ref AWS::Region").unwrap(), s("eu-west-1"));
        assert_eq!(value("V: {Ref: AWS::Partition}").unwrap(), s("aws"));
        assert_eq!(
            value("V: !Ref AWS::AccountId").unwrap(),
            s(ACCOUNT_PLACEHOLDER)
        );
        assert_eq!(value("V: !Ref AWS::URLSuffix").unwrap(), s("amazonaws.com"));
        assert_eq!(value("V: !Ref AWS::StackName").unwrap(), s("lab"));
        assert_eq!(value("V: !Ref AWS::NoValue").unwrap(), Val::NoValue);
        assert_eq!(value("V: !Ref Sg").unwrap(), s("Sg"));
        let e = value("V:\n  Ref: Nothing\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("no parameter or resource Nothing"));
    }

    #[test]
    fn get_att_in_both_forms() {
        assert_eq!(
            value("V: !GetAtt Db.Endpoint.Address").unwrap(),
            s("db.example")
        );
        assert_eq!(
            value("V: {Fn::GetAtt: [Db, Endpoint.Address]}").unwrap(),
            s("db.example")
        );
        assert!(matches!(
            value("V: !GetAtt Db.Other").unwrap(),
            Val::Unresolved(_)
        ));
        assert!(value("V: !GetAtt Gone.Arn")
            .unwrap_err()
            .message
            .contains("no resource Gone"));
        assert!(value("V: !GetAtt NoDot").is_err());
    }

    #[test]
    fn sub_in_both_forms_with_literals_and_attributes() {
        assert_eq!(
            value("V: !Sub 'https://secretsmanager.${AWS::Region}.${AWS::URLSuffix}'").unwrap(),
            s("https://secretsmanager.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            value("V: !Sub '${Db.Endpoint.Address}:3306'").unwrap(),
            s("db.example:3306")
        );
        assert_eq!(
            value("V: !Sub '${!Literal}-${Sg}'").unwrap(),
            s("${Literal}-Sg")
        );
        assert_eq!(
            value("V: !Sub ['${A}-${B}', {A: x, B: !Ref Sg}]").unwrap(),
            s("x-Sg")
        );
        assert!(value("V: !Sub '${Missing}'").is_err());
        assert!(value("V: !Sub 'open ${'").is_err());
        assert!(matches!(
            value_with(
                "V: !Sub '${P}'",
                &[("P", Val::Unresolved("no value".into()))]
            )
            .unwrap(),
            Val::Unresolved(_)
        ));
    }

    #[test]
    fn join_select_split() {
        assert_eq!(
            value("V: !Join [',', [a, b, !Ref Sg]]").unwrap(),
            s("a,b,Sg")
        );
        assert_eq!(value("V: !Select [1, [a, b, c]]").unwrap(), s("b"));
        assert_eq!(
            value("V: !Select ['0', !Split ['|', 'x|y']]").unwrap(),
            s("x")
        );
        assert_eq!(
            value("V: !Split [',', 'a,b']").unwrap(),
            Val::List(vec![s("a"), s("b")])
        );
        assert!(value("V: !Select [5, [a]]")
            .unwrap_err()
            .message
            .contains("no item 5"));
        assert!(value("V: !Join [',']").is_err());
        assert_eq!(
            value_with(
                "V: !Join [',', !Ref L]",
                &[("L", Val::List(vec![s("1"), s("2")]))]
            )
            .unwrap(),
            s("1,2")
        );
    }

    #[test]
    fn if_and_conditions() {
        let yaml = "Conditions:\n  Prod: !Equals [!Ref Env, prod]\n  NotProd: !Not [!Condition Prod]\n  Both: !And [!Condition Prod, !Equals [a, a]]\n  Either: !Or [!Condition NotProd, !Condition Prod]\n";
        let tree = parse(&format!("{yaml}V: [!If [Prod, p, q], !If [NotProd, p, q], !If [Both, x, !Ref AWS::NoValue], !If [Either, e, f]]\n")).unwrap();
        let ctx = context(&tree, &[("Env", s("prod"))]);
        assert_eq!(
            ctx.eval(tree.get("V").unwrap()).unwrap(),
            Val::List(vec![s("p"), s("q"), s("x"), s("e")])
        );
        let ctx = context(&tree, &[("Env", s("dev"))]);
        assert_eq!(
            ctx.eval(tree.get("V").unwrap()).unwrap(),
            Val::List(vec![s("q"), s("p"), s("e")])
        );
        let ctx = context(
            &tree,
            &[("Env", Val::Unresolved("Env has no value".into()))],
        );
        assert_eq!(
            ctx.condition("Prod", 1).unwrap(),
            Err("Env has no value".into())
        );
        let looped =
            parse("Conditions:\n  A: !Not [!Condition B]\n  B: !Not [!Condition A]\n").unwrap();
        let ctx = context(&looped, &[]);
        assert!(ctx
            .condition("A", 1)
            .unwrap_err()
            .message
            .contains("depends on itself"));
    }

    #[test]
    fn find_in_map_get_azs_cidr_import_base64() {
        let yaml =
            "Mappings:\n  Ports:\n    mysql: {port: 3306}\nV: !FindInMap [Ports, mysql, port]\n";
        assert_eq!(value(yaml).unwrap(), s("3306"));
        assert!(value("Mappings: {}\nV: !FindInMap [A, b, c]\n").is_err());
        assert_eq!(
            value("V: !Select [1, !GetAZs '']").unwrap(),
            s("eu-west-1b")
        );
        assert_eq!(
            value("V: !Select [0, !GetAZs us-east-2]").unwrap(),
            s("us-east-2a")
        );
        assert_eq!(
            value("V: !Cidr [10.0.0.0/16, 3, 8]").unwrap(),
            Val::List(vec![s("10.0.0.0/24"), s("10.0.1.0/24"), s("10.0.2.0/24")])
        );
        assert_eq!(
            value("V: !Select [1, !Cidr ['10.0.0.0/24', 2, 4]]").unwrap(),
            s("10.0.0.16/28")
        );
        assert!(value("V: !Cidr [10.0.0.0/24, 300, 8]").is_err());
        assert!(value("V: !Cidr [10.0.0.0/24, 2, 9]").is_err());
        assert!(
            matches!(value("V: !ImportValue shared-vpc").unwrap(), Val::Unresolved(why) if why.contains("shared-vpc"))
        );
        assert_eq!(value("V: !Base64 'hello'").unwrap(), s("aGVsbG8="));
        assert_eq!(value("V: !Base64 'hi'").unwrap(), s("aGk="));
    }

    #[test]
    fn unknown_functions_are_errors_with_their_line() {
        let e = value("V:\n  x: !Length [1]\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("Fn::Length"), "{}", e.message);
    }

    #[test]
    fn references_are_found_in_every_form() {
        let tree = parse("V: [!Ref A, !GetAtt B.Arn, !Sub '${C}-${D.Arn}-${!E}-${L}', !Sub ['${L}', {L: !Ref F}]]").unwrap();
        let mut found = Vec::new();
        references(tree.get("V").unwrap(), &mut found);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["A", "B", "C", "D", "L", "F"]);
    }

    #[test]
    fn the_depth_is_bounded() {
        let deep = format!("V: {}x{}", "!Base64 ".repeat(300), "");
        assert!(parse(&deep).is_err() || value(&deep).is_err());
    }
}
