//! The integration tests, one binary: each module runs the real
//! `rotation-doctor` binary against moto's standalone server on loopback.
//! One test binary instead of one per file: the AWS SDK and the harness are
//! compiled and linked once, not once per file.

mod common;

mod accept;
mod accounts;
mod aws_only_readers;
mod bad_input;
mod checks_catalog;
mod checks_iam;
mod completions;
mod db_host;
mod diagrams;
mod engines;
mod example_snapshot;
mod faults;
mod first_run;
mod fix;
mod fleet;
mod golden;
mod harness;
mod hygiene;
mod lab_case;
mod master_secret;
mod merge;
mod network_crossings;
mod network_paths;
mod permissions;
mod rds_managed_master;
mod rds_proxy;
mod reports;
mod rotate_trace;
mod round_trips;
mod scan;
mod secret_settings;
mod template;
mod template_cdk;
mod template_live;
mod terraform_plan;
