//! The template loader `rotation-doctor template` uses (UTF-8, the YAML
//! and JSON parser, intrinsics, conditions, the dependency graph, resource
//! types to facts, and the Terraform plan front end a JSON document with
//! `format_version` takes; seeds of both are in corpus/template_load) and
//! every check on what it loads: any bytes either give
//! one line of error or targets whose facts go through every check, the
//! reachability engine and the locating of findings without a panic, and
//! serialize. The same bytes as a CDK cloud assembly's manifest.json give
//! one line of error or artifacts whose paths stay inside the assembly.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rotation_doctor_checks::{diagnose, template};

fuzz_target!(|data: &[u8]| {
    match template::cdk::manifest("manifest.json", data) {
        Err(message) => {
            assert!(!message.contains('\n'), "an error is one line: {message:?}");
            assert!(message.starts_with("manifest.json"), "{message:?}");
        }
        Ok(artifacts) => {
            for artifact in artifacts {
                let path = match &artifact {
                    template::cdk::Artifact::Stack(stack) => &stack.template_file,
                    template::cdk::Artifact::Assembly { directory, .. } => directory,
                };
                let inside = std::path::Path::new(path)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
                assert!(inside, "{artifact:?}");
            }
        }
    }
    let options = template::LoadOptions {
        region: "us-east-1".to_string(),
        parameters: vec![("Subnets".to_string(), "subnet-1,subnet-2".to_string())],
        now: chrono::DateTime::UNIX_EPOCH,
        account: None,
    };
    match template::load("input.yaml", data, &options) {
        Err(message) => {
            assert!(!message.contains('\n'), "an error is one line: {message:?}");
            assert!(message.starts_with("input.yaml"), "{message:?}");
        }
        Ok(targets) => {
            for target in targets {
                let mut diagnosis = diagnose(&target.facts);
                target.locate(&mut diagnosis.findings, &diagnosis.paths);
                serde_json::to_string(&diagnosis).expect("a diagnosis serializes");
                serde_json::to_string(&target.facts).expect("facts serialize");
            }
        }
    }
});
