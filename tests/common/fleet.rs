//! A fleet for `scan`: the lab's VPC and database with three rotation
//! Lambdas, two healthy and one in a security group the database does not
//! admit, `size` rotating secrets spread over them, and plain secrets that
//! do not rotate. Shared by tests/fleet.rs and benches/aws_calls.rs.

use aws_sdk_secretsmanager::types::RotationRulesType;

use super::lab::{
    clear_pending_of, create_rotation_function, create_sg, healthy_role_policy, put_log_lines_in,
    Lab, LabOptions, OrPanic, LAMBDA_TRUST,
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
        create_rotating_secret(c, &name, &value, &lambda).await;
        rotating.push((name, lambda));
    }
    let mut plain_names = Vec::new();
    for n in 0..plain {
        let name = format!("plain/{n:02}");
        create_plain_secret(c, &name, n).await;
        plain_names.push(name);
    }

    // The new Lambdas' logs print the passwords of several of their secrets
    // (as careless code sometimes does): a debug line from the healthy one,
    // a login failure from the broken one. The last secrets' passwords: a
    // scan lists them last, after it has begun to diagnose the first, and
    // must mask them all the same.
    for (index, function) in ["fleet-rotation-b", "fleet-rotation-c"].iter().enumerate() {
        let lines: Vec<String> = (size.saturating_sub(30)..size)
            .filter(|n| n % 3 == index + 1)
            .map(|n| {
                if index == 0 {
                    format!(
                        "[DEBUG] testSecret: logged in as app{n} with password {}",
                        password(n)
                    )
                } else {
                    format!(
                        "[ERROR] setSecret: Unable to log into database with pending secret (user app{n}, password {})",
                        password(n)
                    )
                }
            })
            .collect();
        let group = format!("/aws/lambda/{function}");
        put_log_lines_in(c, &group, "2026/01/01/[$LATEST]fleet", &lines).await;
    }
    Fleet {
        lab,
        lambdas,
        rotating,
        plain: plain_names,
    }
}

/// A secret with rotation on through `lambda`, not rotated yet.
async fn create_rotating_secret(c: &Clients, name: &str, value: &serde_json::Value, lambda: &str) {
    c.sm.create_secret()
        .name(name)
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
        .secret_id(name)
        .rotate_immediately(false)
        .rotation_lambda_arn(lambda)
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
    clear_pending_of(c, name).await;
}

async fn create_plain_secret(c: &Clients, name: &str, n: usize) {
    c.sm.create_secret()
        .name(name)
        .secret_string(format!(
            "{{\"username\":\"u{n}\",\"password\":\"{PASSWORD_PREFIX}-plain-{n}\"}}"
        ))
        .send()
        .await
        .or_panic("CreateSecret");
}

/// An organisation-sized region for benches/fleet_scale.rs: `vpcs` labs
/// (each its own VPC, database and role, the rotation Lambda moved to the
/// Lambda tier) with `lambdas_per_vpc` rotation Lambdas each, `size`
/// rotating secrets spread over all the Lambdas, and `plain` secrets that
/// do not rotate. The rotation Lambdas' ARNs.
pub async fn build_spread(
    c: &Clients,
    vpcs: usize,
    lambdas_per_vpc: usize,
    size: usize,
    plain: usize,
) -> Vec<String> {
    let mut lambdas = Vec::new();
    for v in 0..vpcs {
        let lab = Lab::build_with(
            c,
            LabOptions {
                secret_name: format!("lab{v}/mysql/admin"),
                function_name: format!("lab{v}-rotation"),
                db_instance_id: format!("lab{v}-mysql"),
                role_name: format!("lab{v}-rotation-role"),
                db_subnet_group: format!("lab{v}-db-subnets"),
                rotate: false,
                seed_logs: false,
                ..LabOptions::default()
            },
        )
        .await;
        lab.move_lambda_to_lambda_tier(c).await;
        lab.set_role_policy(
            c,
            &healthy_role_policy(&format!(
                "arn:aws:secretsmanager:{REGION}:*:secret:spread/*"
            )),
        )
        .await;
        lambdas.push((lab.function_arn.clone(), lab.db_address.clone()));
        for l in 1..lambdas_per_vpc {
            let arn = create_rotation_function(
                c,
                &format!("lab{v}-rotation-{l}"),
                &lab.role_arn,
                &lab.lambda_subnets,
                std::slice::from_ref(&lab.lambda_sg),
            )
            .await;
            lambdas.push((arn, lab.db_address.clone()));
        }
    }
    // One at a time: moto's secrets backend is not safe for concurrent
    // writers (UpdateSecretVersionStage answered 500 beside others).
    for n in 0..size + plain {
        let (lambda, host) = &lambdas[n % lambdas.len()];
        if n < size {
            let value = serde_json::json!({
                "engine": "mysql", "host": host, "port": 3306,
                "username": format!("app{n}"), "password": password(n), "dbname": "app",
            });
            create_rotating_secret(c, &format!("spread/app-{n:05}"), &value, lambda).await;
        } else {
            create_plain_secret(c, &format!("plain/{n:05}"), n).await;
        }
    }
    lambdas.into_iter().map(|(arn, _)| arn).collect()
}

/// One region of a member account for benches/fleet_scale.rs: a rotation
/// Lambda outside any VPC with its role, and `size` rotating secrets whose
/// host names no database of the account (each a finding of its own, at no
/// cost in calls).
pub async fn build_small_region(c: &Clients, region: &str, size: usize) {
    let role = c
        .iam
        .create_role()
        .role_name(format!("small-rotation-{region}"))
        .assume_role_policy_document(LAMBDA_TRUST)
        .send()
        .await
        .or_panic("CreateRole");
    let role_arn = role.role().expect("role").arn().to_string();
    let lambda = create_rotation_function(c, "small-rotation", &role_arn, &[], &[]).await;
    for n in 0..size {
        let value = serde_json::json!({
            "engine": "mysql", "host": format!("db.{region}.example.internal"), "port": 3306,
            "username": format!("app{n}"), "password": password(n), "dbname": "app",
        });
        create_rotating_secret(c, &format!("small/app-{n:03}"), &value, &lambda).await;
    }
}
