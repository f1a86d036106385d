//! rotation-doctor's pure half: the facts model, the VPC reachability engine
//! and the checks. Nothing here talks to AWS or reads the clock, so a check is
//! testable on hand-built facts in microseconds.

pub mod arn;
pub mod check;
pub mod diagnosis;
pub mod facts;
pub mod finding;
pub mod fix;
#[cfg(test)]
pub mod fixtures;
pub mod logs;
pub mod names;
pub mod net;
pub mod policy;
pub mod role_access;
pub mod rules;
pub mod secret_value;
pub mod snapshot;
pub mod template;
pub mod verdict;

pub use arn::Arn;
pub use check::{Check, CheckMeta, ExplainedBy, RotationStep};
pub use diagnosis::{diagnose, Diagnosis, NetworkPaths};
pub use facts::*;
pub use finding::{Finding, Location, Severity, Status};
pub use names::Names;
pub use verdict::Verdict;
