//! Templates written from the CloudFormation documentation, loaded into
//! facts and diagnosed.

use super::*;
use crate::finding::Status;
use crate::Fact;

const LAB: &str = include_str!("../../../tests/data/templates/lab-hosted-rotation.yaml");
const LAB_FIXED: &str =
    include_str!("../../../tests/data/templates/lab-hosted-rotation-fixed.yaml");

fn options() -> LoadOptions {
    LoadOptions {
        region: "us-east-1".to_string(),
        parameters: Vec::new(),
        now: chrono::DateTime::UNIX_EPOCH,
    }
}

fn load_one(text: &str) -> TemplateTarget {
    let mut targets = load("t.yaml", text.as_bytes(), &options()).unwrap();
    assert_eq!(targets.len(), 1);
    targets.remove(0)
}

fn diagnosed(target: &TemplateTarget) -> crate::Diagnosis {
    let mut diagnosis = crate::diagnose(&target.facts);
    target.locate(&mut diagnosis.findings, &diagnosis.paths);
    diagnosis
}

fn statuses(d: &crate::Diagnosis) -> Vec<(String, Status, String)> {
    d.findings
        .iter()
        .map(|f| (f.check.clone(), f.status, f.message.clone()))
        .collect()
}

#[test]
fn smoke_lab() {
    for text in [LAB, LAB_FIXED] {
        let target = load_one(text);
        let d = diagnosed(&target);
        for s in statuses(&d) {
            eprintln!("{s:?}");
        }
        eprintln!("---");
    }
    let _ = Fact::<()>::NotApplicable(String::new());
}
