//! A CDK cloud assembly (`cdk synth`'s output directory, `cdk.out`): the
//! stacks its `manifest.json` lists, each with the template file, stack
//! name and environment CDK synthesized it for, and the nested assemblies
//! CDK Stages write into directories of their own. Only the manifest's
//! text is read here; the directories and templates are read by the
//! command (src/template.rs).
//!
//! The format: https://github.com/aws/aws-cdk/tree/main/packages/aws-cdk-lib/cloud-assembly-schema
//! (artifacts of type `aws:cloudformation:stack` with
//! `properties.templateFile`, and `cdk:cloud-assembly` with
//! `properties.directoryName`; every other artifact type is skipped).

use serde_json::Value;

/// The file that makes a directory a cloud assembly.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The largest manifest read (CDK's are tens of kilobytes).
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// What CDK writes into an environment for an account or a region the app
/// leaves to deployment time.
const UNKNOWN_ACCOUNT: &str = "unknown-account";
const UNKNOWN_REGION: &str = "unknown-region";

/// One stack of an assembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    /// The artifact id (what `cdk deploy` takes).
    pub id: String,
    /// The name CloudFormation gives the stack: `properties.stackName`,
    /// else the artifact id.
    pub stack_name: String,
    /// The template's path relative to the assembly's directory.
    pub template_file: String,
    /// The environment's account, unless the app leaves it unset.
    pub account: Option<String>,
    /// The environment's region, unless the app leaves it unset.
    pub region: Option<String>,
}

/// An artifact `rotation-doctor template` reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Artifact {
    Stack(Stack),
    /// A nested assembly (a CDK Stage): its directory relative to this one.
    Assembly {
        id: String,
        directory: String,
    },
}

/// The stacks and nested assemblies of a manifest, by artifact id, or one
/// sentence naming `file` and what is wrong with it.
pub fn manifest(file: &str, bytes: &[u8]) -> Result<Vec<Artifact>, String> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(format!(
            "{file} is larger than {} MiB: it is not a CDK cloud assembly manifest",
            MAX_MANIFEST_BYTES / (1024 * 1024)
        ));
    }
    let document: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{file} is not a CDK cloud assembly manifest: not JSON ({e})"))?;
    let Some(artifacts) = document.get("artifacts").and_then(Value::as_object) else {
        return Err(format!(
            "{file} is not a CDK cloud assembly manifest: it has no \"artifacts\" object"
        ));
    };
    let mut out = Vec::new();
    for (id, artifact) in artifacts {
        let kind = artifact.get("type").and_then(Value::as_str);
        let property = |key: &str| {
            artifact
                .get("properties")
                .and_then(|p| p.get(key))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let relative = |key: &str| -> Result<String, String> {
            let Some(path) = property(key) else {
                return Err(format!(
                    "{file}: artifact {id} has no properties.{key}: the manifest is incomplete"
                ));
            };
            if !inside(path) {
                return Err(format!(
                    "{file}: artifact {id}'s properties.{key} {path:?} is not a path inside the assembly"
                ));
            }
            Ok(path.to_string())
        };
        match kind {
            Some("aws:cloudformation:stack") => {
                let (account, region) = match artifact.get("environment") {
                    None | Some(Value::Null) => (None, None),
                    Some(environment) => environment_of(environment).ok_or_else(|| {
                        format!(
                            "{file}: artifact {id}'s environment {environment} is not aws://ACCOUNT/REGION"
                        )
                    })?,
                };
                out.push(Artifact::Stack(Stack {
                    id: id.clone(),
                    stack_name: property("stackName").unwrap_or(id).to_string(),
                    template_file: relative("templateFile")?,
                    account,
                    region,
                }));
            }
            Some("cdk:cloud-assembly") => out.push(Artifact::Assembly {
                id: id.clone(),
                directory: relative("directoryName")?,
            }),
            _ => {}
        }
    }
    Ok(out)
}

/// `aws://ACCOUNT/REGION`, with CDK's words for "not set" as `None`.
fn environment_of(environment: &Value) -> Option<(Option<String>, Option<String>)> {
    let (account, region) = environment
        .as_str()?
        .strip_prefix("aws://")?
        .split_once('/')?;
    if account.is_empty() || region.is_empty() || region.contains('/') {
        return None;
    }
    let known = |value: &str, unknown: &str| (value != unknown).then(|| value.to_string());
    Some((
        known(account, UNKNOWN_ACCOUNT),
        known(region, UNKNOWN_REGION),
    ))
}

/// A relative path that stays inside the assembly's directory, as CDK
/// writes them: a manifest cannot make the command read elsewhere.
fn inside(path: &str) -> bool {
    let path = std::path::Path::new(path);
    path.is_relative()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMITTED: &[u8] = include_bytes!("../../../tests/data/cdk/admitted.out/manifest.json");
    const STAGE: &[u8] = include_bytes!("../../../tests/data/cdk/not-admitted.out/manifest.json");
    const STAGE_STACKS: &[u8] =
        include_bytes!("../../../tests/data/cdk/not-admitted.out/assembly-Prod/manifest.json");

    fn stack(
        id: &str,
        name: &str,
        file: &str,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Artifact {
        Artifact::Stack(Stack {
            id: id.to_string(),
            stack_name: name.to_string(),
            template_file: file.to_string(),
            account: account.map(str::to_string),
            region: region.map(str::to_string),
        })
    }

    #[test]
    fn an_environment_agnostic_stack_has_no_account_or_region_and_is_named_by_its_id() {
        assert_eq!(
            manifest("m", ADMITTED).unwrap(),
            vec![stack(
                "RotationAdmitted",
                "RotationAdmitted",
                "RotationAdmitted.template.json",
                None,
                None
            )]
        );
    }

    #[test]
    fn a_stage_is_a_nested_assembly_whose_stack_has_its_name_and_environment() {
        assert_eq!(
            manifest("m", STAGE).unwrap(),
            vec![Artifact::Assembly {
                id: "assembly-Prod".to_string(),
                directory: "assembly-Prod".to_string()
            }]
        );
        assert_eq!(
            manifest("m", STAGE_STACKS).unwrap(),
            vec![stack(
                "ProdDatabase5B3A507C",
                "prod-database",
                "ProdDatabase5B3A507C.template.json",
                Some("123456789012"),
                Some("eu-west-1")
            )]
        );
    }

    #[test]
    fn an_environment_may_leave_either_half_unset() {
        let text = |env: &str| {
            format!(
                r#"{{"artifacts": {{"S": {{"type": "aws:cloudformation:stack", "environment": "{env}",
                "properties": {{"templateFile": "S.template.json"}}}}}}}}"#
            )
        };
        let env = |e: &str| match manifest("m", text(e).as_bytes()).unwrap().remove(0) {
            Artifact::Stack(s) => (s.account, s.region),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            env("aws://111111111111/unknown-region"),
            (Some("111111111111".to_string()), None)
        );
        assert_eq!(
            env("aws://unknown-account/ap-south-2"),
            (None, Some("ap-south-2".to_string()))
        );
        for bad in [
            "111111111111/us-east-1",
            "aws://111111111111",
            "aws:///us-east-1",
            "aws://a/b/c",
        ] {
            let e = manifest("m", text(bad).as_bytes()).unwrap_err();
            assert!(e.contains("is not aws://ACCOUNT/REGION"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_broken_manifest_is_one_sentence_naming_the_file() {
        for (bytes, says) in [
            (&b"{"[..], "not JSON"),
            (b"[]", "no \"artifacts\" object"),
            (b"{\"version\": \"55.0.0\"}", "no \"artifacts\" object"),
            (
                b"{\"artifacts\": {\"S\": {\"type\": \"aws:cloudformation:stack\"}}}",
                "artifact S has no properties.templateFile",
            ),
            (
                b"{\"artifacts\": {\"P\": {\"type\": \"cdk:cloud-assembly\", \"properties\": {}}}}",
                "artifact P has no properties.directoryName",
            ),
            (
                b"{\"artifacts\": {\"S\": {\"type\": \"aws:cloudformation:stack\", \"properties\": {\"templateFile\": \"../x.json\"}}}}",
                "is not a path inside the assembly",
            ),
            (
                b"{\"artifacts\": {\"S\": {\"type\": \"aws:cloudformation:stack\", \"properties\": {\"templateFile\": \"/etc/x.json\"}}}}",
                "is not a path inside the assembly",
            ),
        ] {
            let e = manifest("cdk.out/manifest.json", bytes).unwrap_err();
            assert!(e.starts_with("cdk.out/manifest.json"), "{e}");
            assert!(e.contains(says), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn other_artifacts_are_skipped() {
        let text =
            br#"{"artifacts": {"Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
            "S.assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}}}}"#;
        assert_eq!(manifest("m", text).unwrap(), vec![]);
    }
}
