//! A fleet for `scan`: the lab's VPC and database with three rotation
//! Lambdas, two healthy and one in a security group the database does not
//! admit, `size` rotating secrets spread over them, and plain secrets that
//! do not rotate. Shared by tests/fleet.rs and benches/aws_calls.rs.

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_secretsmanager::types::RotationRulesType;

use super::lab::{
    clear_pending_of, create_rotation_function, create_sg, healthy_role_policy, now_millis, Lab,
    LabOptions, OrPanic,
};
use super::{Clients, REGION};

/// Every fleet password starts with this, so a test can look for any of
/// them in the output.
pub const PASSWORD_PREFIX: &str = "FLEETPW";

pub struct Fleet {
    pub lab: Lab,
    /// The three rotation Lambdas' ARNs; the last is the broken one.
    pub lambdas: [String; 3],
    /// (name, rotation Lambda ARN) of every rotating secret.
    pub rotating: Vec<(String, String)>,
    pub plain: Vec<String>,
}

impl Fleet {
    pub fn broken_lambda(&self) -> &str {
        &self.lambdas[2]
    }
}

fn password(n: usize) -> String {
    format!("{PASSWORD_PREFIX}-{n:03}-q7")
}

pub async fn build(c: &Clients, size: usize, plain: usize) -> Fleet {
    // The lab's own secret does not rotate here (no RotateSecret).
    let lab = Lab::build_with(
        c,
        LabOptions {
            rotate: false,
            seed_logs: false,
            ..LabOptions::default()
        },
    )
    .await;
    lab.move_lambda_to_lambda_tier(c).await;
    let account = rotation_doctor_checks::Arn::parse(&lab.secret_arn)
        .expect("the secret's ARN")
        .account;
    lab.set_role_policy(
        c,
        &healthy_role_policy(&format!(
            "arn:aws:secretsmanager:{REGION}:{account}:secret:fleet/*"
        )),
    )
    .await;

    let healthy = create_rotation_function(
        c,
        "fleet-rotation-b",
        &lab.role_arn,
        &lab.lambda_subnets,
        std::slice::from_ref(&lab.lambda_sg),
    )
    .await;
    let unadmitted = create_sg(
        c,
        &lab.vpc_id,
        "fleet-unadmitted",
        "a group the database does not admit",
    )
    .await;
    let broken = create_rotation_function(
        c,
        "fleet-rotation-c",
        &lab.role_arn,
        &lab.lambda_subnets,
        &[unadmitted],
    )
    .await;
    let lambdas = [lab.function_arn.clone(), healthy, broken];

    let mut rotating = Vec::new();
    for n in 0..size {
        let name = format!("fleet/app-{n:03}");
        let lambda = lambdas[n % lambdas.len()].clone();
        let value = serde_json::json!({
            "engine": "mysql", "host": lab.db_address, "port": 3306,
            "username": format!("app{n}"), "password": password(n), "dbname": "app",
        });
        c.sm.create_secret()
            .name(&name)
            .secret_string(value.to_string())
            .send()
            .await
            .or_panic("CreateSecret");
        // Rotation turned on without rotating now (as the console's "enable
        // rotation" does when told to wait): after an immediate moto rotation
        // the secret's default version is the value-less pending one, and
        // moto's BatchGetSecretValue (which reads the default version, not
        // AWSCURRENT) fails on it.
        c.sm.rotate_secret()
            .secret_id(&name)
            .rotate_immediately(false)
            .rotation_lambda_arn(&lambda)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .send()
            .await
            .or_panic("RotateSecret");
        // moto's RotateSecret leaves an AWSPENDING label behind (a stuck
        // rotation); these secrets are meant to be healthy.
        clear_pending_of(c, &name).await;
        rotating.push((name, lambda));
    }
    let mut plain_names = Vec::new();
    for n in 0..plain {
        let name = format!("plain/{n:02}");
        c.sm.create_secret()
            .name(&name)
            .secret_string(format!(
                "{{\"username\":\"u{n}\",\"password\":\"{PASSWORD_PREFIX}-plain-{n}\"}}"
            ))
            .send()
            .await
            .or_panic("CreateSecret");
        plain_names.push(name);
    }

    // The new Lambdas' logs print the passwords of several of their secrets
    // (as careless code sometimes does): a debug line from the healthy one,
    // a login failure from the broken one.
    for (index, function) in ["fleet-rotation-b", "fleet-rotation-c"].iter().enumerate() {
        let group = format!("/aws/lambda/{function}");
        let stream = "2026/01/01/[$LATEST]fleet";
        c.logs
            .create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .or_panic("CreateLogGroup");
        c.logs
            .create_log_stream()
            .log_group_name(&group)
            .log_stream_name(stream)
            .send()
            .await
            .or_panic("CreateLogStream");
        let start = now_millis() - 60_000;
        let events: Vec<InputLogEvent> = (0..size.min(30))
            .filter(|n| n % 3 == index + 1)
            .enumerate()
            .map(|(i, n)| {
                InputLogEvent::builder()
                    .timestamp(start + i as i64)
                    .message(if index == 0 {
                        format!(
                            "[DEBUG] testSecret: logged in as app{n} with password {}",
                            password(n)
                        )
                    } else {
                        format!(
                            "[ERROR] setSecret: Unable to log into database with pending secret (user app{n}, password {})",
                            password(n)
                        )
                    })
                    .build()
                    .expect("InputLogEvent")
            })
            .collect();
        c.logs
            .put_log_events()
            .log_group_name(&group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .or_panic("PutLogEvents");
    }
    Fleet {
        lab,
        lambdas,
        rotating,
        plain: plain_names,
    }
}
