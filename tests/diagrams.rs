//! `--output markdown` and `--output dot`: snapshots of the example's text,
//! and the real tools reading it: Graphviz's `dot` lays the DOT out, and
//! Mermaid (mermaid-cli in headless Chromium, tests/mermaid/) renders every
//! diagram of the markdown. Each tool is found through an environment
//! variable `.ci/run` sets (GRAPHVIZ_DOT, MERMAID_RENDERER); a missing tool
//! fails the test with what to install, never skips it.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::common;

use common::lab::{Lab, OrPanic};
use common::{describe, example, exit_code, output, run_doctor, stderr_of, stdout_of, MotoServer};

/// A renderer gets this long for a batch of diagrams (a cold Chromium
/// start included).
const RENDER_WATCHDOG: Duration = Duration::from_secs(180);

/// The ids the engine says block the example's paths, from the JSON report.
fn blocking_ids(snapshot: &str) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(&output(
        &["diagnose", "--snapshot", snapshot, "--output", "json"],
        1,
    ))
    .expect("JSON report");
    report["targets"][0]["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .filter_map(|p| p["blocked_by"].as_str().map(str::to_string))
        .collect()
}

// ---------------------------------------------------------------------------
// The tools
// ---------------------------------------------------------------------------

/// Graphviz's `dot`: `$GRAPHVIZ_DOT`, else `dot` on the PATH.
fn graphviz_dot() -> PathBuf {
    let dot = std::env::var_os("GRAPHVIZ_DOT")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("dot"), PathBuf::from);
    match Command::new(&dot).arg("-V").output() {
        Ok(out) if out.status.success() => dot,
        _ => panic!(
            "Graphviz's dot was not found at {} (set GRAPHVIZ_DOT).\nInstall it with `apt-get install graphviz`, or run `bash .ci/run`, which does.",
            dot.display()
        ),
    }
}

/// tests/mermaid/render.mjs with its node_modules (`npm ci` there), or
/// `$MERMAID_RENDERER`.
fn mermaid_renderer() -> PathBuf {
    let script = std::env::var_os("MERMAID_RENDERER")
        .filter(|p| !p.is_empty())
        .map_or_else(
            || common::workspace_root().join("tests/mermaid/render.mjs"),
            PathBuf::from,
        );
    let installed = script
        .parent()
        .map(|dir| dir.join("node_modules/@mermaid-js/mermaid-cli/package.json"))
        .is_some_and(|p| p.is_file());
    let chromium = std::env::var_os("CHROMIUM")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !script.is_file() || !installed || !chromium.is_file() {
        panic!(
            "the Mermaid renderer is not installed (script {}, its node_modules: {installed}, Chromium at {}: {}).\n\
             Install it with `apt-get install chromium` and `PUPPETEER_SKIP_DOWNLOAD=1 npm ci` in tests/mermaid \
             (Node.js 20), or run `bash .ci/run`, which does; MERMAID_RENDERER and CHROMIUM point elsewhere.",
            script.display(),
            chromium.display(),
            chromium.is_file()
        );
    }
    script
}

/// Renders each diagram with the real Mermaid: the SVGs, or the renderer's
/// complaint.
fn render_mermaid(diagrams: &[String]) -> Result<Vec<String>, String> {
    let script = mermaid_renderer();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (i, diagram) in diagrams.iter().enumerate() {
        let file = dir.path().join(format!("diagram{i}.mmd"));
        std::fs::write(&file, diagram).expect("write the diagram");
        files.push(file);
    }
    let mut cmd = Command::new("node");
    cmd.arg(&script).arg(dir.path()).args(&files);
    let out = common::run_with_watchdog(cmd, RENDER_WATCHDOG);
    if !out.status.success() {
        return Err(format!("exit {:?}: {}", out.status.code(), stderr_of(&out)));
    }
    Ok((0..diagrams.len())
        .map(|i| {
            std::fs::read_to_string(dir.path().join(format!("diagram{i}.svg")))
                .expect("the renderer wrote an SVG per diagram")
        })
        .collect())
}

/// `dot -Tsvg`, asserting it succeeds.
fn render_dot(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("paths.dot");
    std::fs::write(&file, text).expect("write the DOT");
    let mut cmd = Command::new(graphviz_dot());
    cmd.arg("-Tsvg").arg(&file);
    let out = common::run_with_watchdog(cmd, RENDER_WATCHDOG);
    assert!(
        out.status.success() && stderr_of(&out).trim().is_empty(),
        "dot rejected the graph: {}\n{text}",
        describe(&out)
    );
    stdout_of(&out)
}

/// The ```mermaid blocks of a markdown document.
fn mermaid_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("```mermaid\n") {
        let body = &rest[start + "```mermaid\n".len()..];
        let end = body.find("```").expect("a closed mermaid block");
        blocks.push(body[..end].to_string());
        rest = &body[end..];
    }
    blocks
}

/// SVG text as a person reads it: the entities XML and Graphviz write
/// (`&lt;`, `&#45;`) decoded.
fn decode_xml(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let entity = after.find(';').map(|end| &after[..end]);
        let decoded = match entity {
            Some("lt") => Some('<'),
            Some("gt") => Some('>'),
            Some("amp") => Some('&'),
            Some("quot") => Some('"'),
            Some("apos") => Some('\''),
            Some(e) if e.starts_with('#') => e[1..].parse::<u32>().ok().and_then(char::from_u32),
            _ => None,
        };
        match (decoded, entity) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &after[e.len() + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of each node of a Graphviz SVG drawn in `stroke`.
fn dot_nodes_stroked(svg: &str, stroke: &str) -> Vec<String> {
    svg.split("class=\"node\"")
        .skip(1)
        // A node's group ends where the next edge or cluster begins.
        .map(|node| node.split("class=\"edge\"").next().unwrap_or(node))
        .map(|node| node.split("class=\"cluster\"").next().unwrap_or(node))
        .filter(|node| node.contains(&format!("stroke=\"{stroke}\"")))
        .map(|node| {
            let texts: Vec<String> = node
                .split("<text")
                .skip(1)
                .filter_map(|t| t.split_once('>').map(|(_, rest)| rest))
                .map(|t| decode_xml(t.split("</text>").next().unwrap_or(t)))
                .collect();
            texts.join("\n")
        })
        .collect()
}

/// The label of each node of a Mermaid SVG in `class`.
fn mermaid_nodes_in_class(svg: &str, class: &str) -> Vec<String> {
    svg.split("<g class=\"node ")
        .skip(1)
        .filter(|node| {
            node.split('"')
                .next()
                .is_some_and(|classes| classes.split(' ').any(|c| c == class))
        })
        .map(|node| {
            let label = node
                .split_once("<p>")
                .and_then(|(_, rest)| rest.split_once("</p>"))
                .map_or("", |(label, _)| label);
            decode_xml(&label.replace("<br />", "\n"))
        })
        .collect()
}

/// Table rows whose cells a `|` in the text would split: each row of the
/// findings table has exactly five unescaped `|`.
fn assert_table_rows_have_four_cells(markdown: &str) {
    let mut in_findings = false;
    for line in markdown.lines() {
        if line.starts_with("| Status | Check |") {
            in_findings = true;
        } else if !line.starts_with('|') {
            in_findings = false;
        }
        if in_findings {
            let bars = line
                .char_indices()
                .filter(|&(i, c)| c == '|' && (i == 0 || !line[..i].ends_with('\\')))
                .count();
            assert_eq!(bars, 5, "a table row split by a | in its text: {line}");
        }
    }
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn markdown_and_dot_of_the_example() {
    let example = example();
    for format in ["markdown", "dot"] {
        let text = output(&["diagnose", "--snapshot", &example, "--output", format], 1);
        insta::assert_snapshot!(format!("diagnose_{format}"), text);
    }
}

/// Graphviz lays out the example's DOT, with the blocking security group
/// the only node drawn red in each blocked path.
#[test]
fn graphviz_draws_the_blocking_hop_in_red() {
    let example = example();
    let blocking = blocking_ids(&example);
    assert_eq!(
        blocking.len(),
        2,
        "the lab's two database paths are blocked"
    );
    let svg = render_dot(&output(
        &["diagnose", "--snapshot", &example, "--output", "dot"],
        1,
    ));
    let red = dot_nodes_stroked(&svg, "#d00000");
    assert_eq!(
        red.len(),
        blocking.len(),
        "one red node per blocked path:\n{svg}"
    );
    for (node, id) in red.iter().zip(&blocking) {
        assert!(
            node.contains("security group ingress") && node.contains(id.as_str()),
            "the red node is {node:?}, not {id}'s ingress"
        );
    }
}

/// Mermaid renders every diagram of the example's markdown, with the
/// blocking security group in the `blocked` class.
#[test]
fn mermaid_renders_every_diagram_with_the_blocking_hop_in_red() {
    let example = example();
    let blocking = blocking_ids(&example);
    let markdown = output(
        &["diagnose", "--snapshot", &example, "--output", "markdown"],
        1,
    );
    let diagrams = mermaid_blocks(&markdown);
    assert_eq!(
        diagrams.len(),
        3,
        "2 blocked database paths, 1 merged Secrets Manager path"
    );
    let svgs = render_mermaid(&diagrams).unwrap_or_else(|e| panic!("Mermaid: {e}"));
    let red: Vec<String> = svgs
        .iter()
        .flat_map(|svg| mermaid_nodes_in_class(svg, "blocked"))
        .collect();
    assert_eq!(red.len(), blocking.len(), "{red:?}");
    for (node, id) in red.iter().zip(&blocking) {
        assert_eq!(node, &format!("security group ingress\n{id} (lab-db-sg)"));
    }
    assert!(
        mermaid_nodes_in_class(&svgs[2], "blocked").is_empty(),
        "the reachable path has no red node"
    );
}

/// The validator can fail: a group name with quotes written into a label
/// unescaped, as a printer that forgot to escape would, is rejected, and
/// the renderer names the diagram.
#[test]
fn mermaid_rejects_an_unescaped_label() {
    let example = example();
    let markdown = output(
        &["diagnose", "--snapshot", &example, "--output", "markdown"],
        1,
    );
    let good = mermaid_blocks(&markdown).remove(0);
    let broken = good.replacen("(lab-db-sg)", "(lab \"db\" sg)", 1);
    assert_ne!(good, broken);
    match render_mermaid(&[good, broken]) {
        Ok(_) => panic!("Mermaid accepted a label with unescaped quotes"),
        Err(error) => assert!(
            error.contains("diagram1.mmd") && error.contains("Parse error"),
            "{error}"
        ),
    }
}

/// Names with every character Mermaid, DOT and Markdown treat specially:
/// both renderers take the output and show the names as written, and the
/// findings table keeps four cells a row.
#[test]
fn names_with_special_characters_are_escaped_for_every_renderer() {
    const NAME: &str = "db \"sg\" | <b>x</b> #1 [y] {z} `w` & %% ;\\N";
    let text = std::fs::read_to_string(example()).expect("example");
    let mut facts: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    for group in facts["network"]["security_groups"]["present"]
        .as_array_mut()
        .expect("groups")
    {
        if group["name"] == "lab-db-sg" {
            group["name"] = NAME.into();
        }
    }
    for subnet in facts["network"]["subnets"]["present"]
        .as_array_mut()
        .expect("subnets")
    {
        if subnet["name"] == "lab-db-us-east-1a" {
            subnet["name"] = "subnet ]\") --> x[\"".into();
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("names.json");
    std::fs::write(&snapshot, facts.to_string()).expect("write");
    let snapshot = snapshot.to_str().expect("utf-8 path");
    let id = &blocking_ids(snapshot)[0];

    let markdown = output(
        &["diagnose", "--snapshot", snapshot, "--output", "markdown"],
        1,
    );
    assert!(!markdown.contains(NAME), "the name is escaped in markdown");
    assert_table_rows_have_four_cells(&markdown);
    let svgs =
        render_mermaid(&mermaid_blocks(&markdown)).unwrap_or_else(|e| panic!("Mermaid: {e}"));
    let red = mermaid_nodes_in_class(&svgs[0], "blocked");
    assert_eq!(red, [format!("security group ingress\n{id} ({NAME})")]);

    let svg = render_dot(&output(
        &["diagnose", "--snapshot", snapshot, "--output", "dot"],
        1,
    ));
    let red = dot_nodes_stroked(&svg, "#d00000");
    assert_eq!(red[0], format!("security group ingress\n{id} ({NAME})"));
}

#[test]
fn dry_run_refuses_markdown_and_dot() {
    let example = example();
    for format in ["markdown", "dot"] {
        let out = run_doctor(&[
            "diagnose",
            "--snapshot",
            &example,
            "--dry-run",
            "--output",
            format,
        ]);
        let line = common::assert_user_error(&out);
        assert!(line.contains("drop --dry-run"), "{format}: {line}");
    }
}

#[test]
fn an_unknown_output_format_is_a_usage_error() {
    let out = run_doctor(&["diagnose", "--snapshot", &example(), "--output", "mermaid"]);
    common::assert_no_panic(&out);
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("invalid value 'mermaid'") && err.contains("markdown") && err.contains("dot"),
        "the error names the formats there are: {err}"
    );
}

/// README shows the lab's diagram exactly as the binary draws it.
#[test]
fn readme_shows_the_real_lab_diagram() {
    let markdown = output(
        &["diagnose", "--snapshot", &example(), "--output", "markdown"],
        1,
    );
    let diagram = mermaid_blocks(&markdown).remove(0);
    let readme =
        std::fs::read_to_string(common::workspace_root().join("README.md")).expect("README");
    assert!(
        mermaid_blocks(&readme).contains(&diagram),
        "README.md's lab diagram differs from `diagnose --snapshot examples/lab-failed-rotation.json --output markdown`; paste the first diagram:\n{diagram}"
    );
}

/// `scan` with two rotating secrets: an overview of both, the failing lab's
/// diagrams, and a DOT cluster per secret; both renderers take them.
#[tokio::test]
async fn scan_reports_every_secret_in_markdown_and_dot() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    // Rotation on without a Lambda: moto accepts it, and the secret counts
    // as rotating.
    c.sm.create_secret()
        .name("app/other")
        .secret_string("{\"engine\":\"mysql\",\"username\":\"u\",\"password\":\"p\"}")
        .send()
        .await
        .or_panic("CreateSecret");
    c.sm.rotate_secret()
        .secret_id("app/other")
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .automatically_after_days(7)
                .build(),
        )
        .send()
        .await
        .or_panic("RotateSecret");

    let out = server.doctor(&["scan", "--output", "markdown"]);
    assert_eq!(exit_code(&out), 1, "{}", describe(&out));
    let markdown = stdout_of(&out);
    assert!(
        markdown.contains("2 secrets diagnosed"),
        "an overview of both secrets:\n{markdown}"
    );
    for name in [lab.secret_name.as_str(), "app/other"] {
        assert!(
            markdown.contains(&format!("\n## {name}\n")),
            "a section for {name}:\n{markdown}"
        );
    }
    assert_table_rows_have_four_cells(&markdown);
    let diagrams = mermaid_blocks(&markdown);
    assert!(
        !diagrams.is_empty(),
        "the lab's paths are drawn:\n{markdown}"
    );
    let svgs = render_mermaid(&diagrams).unwrap_or_else(|e| panic!("Mermaid: {e}"));
    let red: Vec<String> = svgs
        .iter()
        .flat_map(|svg| mermaid_nodes_in_class(svg, "blocked"))
        .collect();
    assert!(
        red.iter().any(|n| n.contains(&lab.db_sg)),
        "the database's group is drawn red: {red:?}"
    );

    let out = server.doctor(&["scan", "--output", "dot"]);
    assert_eq!(exit_code(&out), 1, "{}", describe(&out));
    let dot = stdout_of(&out);
    let secret_clusters = dot
        .lines()
        .filter(|l| l.starts_with("    subgraph \"cluster_"))
        .count();
    assert_eq!(secret_clusters, 2, "a cluster per secret:\n{dot}");
    let svg = render_dot(&dot);
    assert!(
        dot_nodes_stroked(&svg, "#d00000")
            .iter()
            .any(|n| n.contains(&lab.db_sg)),
        "the database's group is drawn red in the DOT"
    );
}
