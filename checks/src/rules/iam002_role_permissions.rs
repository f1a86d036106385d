//! IAM002: the rotation Lambda's execution role may do what the rotation
//! template does: the secret actions, the password generator, the VPC
//! network interfaces and the customer managed key.

use serde_json::{json, Value};

use crate::arn::Arn;
use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{ErrorKind, ExecutionRole, Fact, Facts, KmsKey};
use crate::finding::{Finding, Severity, Status};
use crate::fix::{FixAction, FixPlan};
use crate::policy::{database_api_needs, rotation_role_needs, Need};
use crate::role_access::{
    evaluate_need, identity_documents, key_policy_grants, simulated_outcome, Outcome,
};

pub struct RolePermissions;

static META: CheckMeta = CheckMeta {
    id: "IAM002",
    name: "role-permissions",
    title: "The execution role allows every action rotation performs",
    severity: Severity::High,
    can_fix: true,
    optional_evidence: false,
    breaks_steps: &[
        RotationStep::CreateSecret,
        RotationStep::SetSecret,
        RotationStep::TestSecret,
        RotationStep::FinishSecret,
    ],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
The rotation Lambda's execution role (`iam:GetRole`), its inline policies
(`iam:GetRolePolicy`), its attached policies (the default version of each,
`iam:GetPolicyVersion`) and its permissions boundary, against what the
rotation templates call:

- `secretsmanager:DescribeSecret`, `GetSecretValue`, `PutSecretValue` and
  `UpdateSecretVersionStage` on the secret's ARN;
- `secretsmanager:GetRandomPassword` on `*`;
- for a function in a VPC, `ec2:CreateNetworkInterface`,
  `DescribeNetworkInterfaces` and `DeleteNetworkInterface` on `*`;
- for a secret under a customer managed key, `kms:Decrypt` and
  `kms:GenerateDataKey` on the key (unless the key policy grants them to the
  role itself, see KMS001);
- for a multi-user secret whose master secret RDS manages (`rds!db-…`,
  `rds!cluster-…`), `rds:DescribeDBInstances` (or `rds:DescribeDBClusters`
  for a cluster) on the database the master secret's tag names: such a
  master secret has no host, and the templates look it up with that call
  (`get_connection_params_from_rds_api`); NET004 checks the way there;
- for an ElastiCache user's secret (`user_arn`), `elasticache:DescribeUsers`
  and `elasticache:ModifyUser` on that user: the rotation function sets the
  password through the ElastiCache API (the role policy of "Automatically
  rotating passwords for users",
  <https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/User-Secrets-Manager.html>).

`iam:SimulatePrincipalPolicy` decides when it answers. Otherwise the
documents are evaluated here: Allow and Deny (an explicit Deny wins),
wildcards in actions and resources, `NotAction` and `NotResource`, and the
boundary, which must allow an action too. Conditions on
`kms:EncryptionContext:SecretARN`, `kms:ViaService` and
`aws:RequestedRegion` are evaluated; any other condition is reported as not
evaluated and makes the action `unknown` rather than allowed. So does an
attached policy whose document could not be read. The finding says which
method decided. Service control policies, session policies and the secret's
resource policy are not read.

## Why it breaks rotation
Each missing action fails one step with `AccessDeniedException ... is not
authorized to perform: secretsmanager:<Action> on resource: <arn> because no
identity-based policy allows the secretsmanager:<Action> action`:
DescribeSecret fails every step, GetRandomPassword and PutSecretValue fail
createSecret, UpdateSecretVersionStage fails finishSecret and leaves
AWSPENDING behind. A missing KMS permission shows as `Access to KMS is not
allowed`. A VPC function whose role lacks the network-interface actions
cannot be created or updated, and later goes `Failed` with
`InsufficientRolePermissions`. A resource written without the secret's
random suffix (`secret:name` instead of `secret:name-AbCdEf`) matches
nothing.

## How to fix it
Add an inline policy with the missing actions:
`aws iam put-role-policy --role-name ROLE --policy-name rotation --policy-document file://policy.json`,
with the secret actions on the secret's ARN, `GetRandomPassword` and the
network-interface actions on `*`, and the KMS actions on the key's ARN. An
explicit Deny or a permissions boundary has to be changed where it is
written. `--fix` puts an inline policy granting exactly the missing actions
(a safe fix: it only adds; `undo` deletes it).

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
- https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
"#,
};

/// The customer managed key the role must be able to use, if any.
fn customer_key<'a>(kms_key_id: Option<&'a str>, key: &'a Fact<KmsKey>) -> Option<&'a str> {
    let id = kms_key_id.filter(|id| !id.is_empty())?;
    match key {
        Fact::Present(key) if key.manager.as_deref() == Some("AWS") => None,
        Fact::Present(key) => Some(key.arn.as_deref().unwrap_or(id)),
        _ if id.contains("alias/aws/") => None,
        _ => Some(id),
    }
}

/// The inline policy that grants exactly the missing needs, grouped by
/// resource.
fn fix_document(missing: &[&Need]) -> Value {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for need in missing {
        match groups.iter_mut().find(|(r, _)| *r == need.resource) {
            Some((_, actions)) => actions.push(need.action),
            None => groups.push((need.resource.clone(), vec![need.action])),
        }
    }
    let statements: Vec<Value> = groups
        .into_iter()
        .map(|(resource, actions)| {
            json!({"Effect": "Allow", "Action": actions, "Resource": resource})
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A stable name for the fix's inline policy: the same missing actions give
/// the same name (so applying twice is a no-op), others a new one.
fn fix_policy_name(document: &Value) -> String {
    // FNV-1a, 32 bits: short and stable across builds.
    let hash = document.to_string().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("rotation-doctor-{hash:08x}")
}

fn role_or_finding<'a>(
    facts: &'a Facts,
    resource: &str,
) -> Result<&'a ExecutionRole, Box<Finding>> {
    if let Fact::Unavailable(u) = &facts.execution_role {
        if u.kind == ErrorKind::NotFound {
            return Err(Box::new(META.finding(
                Status::Unknown,
                resource,
                format!("the execution role does not exist ({u}); see IAM001"),
            )));
        }
    }
    // A snapshot of an older tool has no role ("not collected").
    super::support::needed(
        &META,
        &facts.execution_role,
        resource,
        |why| format!("the execution role was not read: {why}"),
        |u| format!("the execution role could not be read: {u}"),
    )
}

impl Check for RolePermissions {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let Some(secret) = facts.secret.present() else {
            return vec![META.finding(
                Status::Unknown,
                &lambda.arn,
                "the secret could not be read",
            )];
        };
        let Some(role_arn) = lambda.role.as_deref() else {
            return vec![META.finding(
                Status::Unknown,
                &lambda.arn,
                "Lambda did not report the function's execution role",
            )];
        };
        let role = match role_or_finding(facts, role_arn) {
            Ok(role) => role,
            Err(finding) => return vec![*finding],
        };
        let in_vpc = lambda
            .vpc
            .as_ref()
            .is_some_and(|v| !v.subnet_ids.is_empty());
        let key = customer_key(secret.kms_key_id.as_deref(), &facts.kms_key);
        let needs = rotation_role_needs(&secret.arn, key, in_vpc, database_api_needs(facts));
        let via_service = format!("secretsmanager.{}.amazonaws.com", facts.region);
        let account = Arn::parse(&secret.arn)
            .map(|a| a.account.to_string())
            .unwrap_or_default();
        let context = [
            ("kms:EncryptionContext:SecretARN", secret.arn.as_str()),
            ("kms:ViaService", via_service.as_str()),
            ("kms:CallerAccount", account.as_str()),
            ("aws:RequestedRegion", facts.region.as_str()),
        ];

        // Our evaluation's inputs, also for the evidence when simulating.
        let (labelled, unreadable) = identity_documents(role);
        let docs: Vec<(&str, &Value)> = labelled.iter().map(|(l, d)| (l.as_str(), *d)).collect();

        let simulated = role.simulation.present().filter(|results| {
            needs.iter().all(|need| {
                results
                    .iter()
                    .any(|r| r.action == need.action && r.resource == need.resource)
            })
        });
        let method = match (simulated, &role.simulation) {
            (Some(_), _) => "iam:SimulatePrincipalPolicy".to_string(),
            (None, sim) => {
                let why = match sim {
                    Fact::Present(_) => {
                        "iam:SimulatePrincipalPolicy did not cover every action".to_string()
                    }
                    other => other.missing_reason().unwrap_or_default(),
                };
                format!(
                    "our evaluation of {} polic{}; {why}",
                    docs.len() + usize::from(role.permissions_boundary.is_some()),
                    if docs.len() + usize::from(role.permissions_boundary.is_some()) == 1 {
                        "y"
                    } else {
                        "ies"
                    }
                )
            }
        };

        let outcomes: Vec<(&Need, Outcome)> = needs
            .iter()
            .map(|need| {
                let is_kms = need.action.starts_with("kms:");
                let outcome = match simulated {
                    Some(results) => {
                        let r = results
                            .iter()
                            .find(|r| r.action == need.action && r.resource == need.resource);
                        match r {
                            Some(r) => simulated_outcome(r),
                            None => Outcome::Missing("implicitly denied (simulation)".to_string()),
                        }
                    }
                    None => evaluate_need(
                        need,
                        &docs,
                        &unreadable,
                        role.permissions_boundary.as_ref(),
                        &context,
                    ),
                };
                // A key policy naming the role grants KMS use by itself.
                let outcome = match outcome {
                    Outcome::Missing(_) | Outcome::Unknown(_)
                        if is_kms
                            && key_policy_grants(&facts.kms_key, role_arn, need, &context) =>
                    {
                        Outcome::Granted("the key policy, which names the role".to_string())
                    }
                    other => other,
                };
                (need, outcome)
            })
            .collect();

        let evidence: Vec<String> = outcomes
            .iter()
            .map(|(need, outcome)| {
                let (verdict, detail) = match outcome {
                    Outcome::Granted(by) => ("allowed", format!("by {by}")),
                    Outcome::Missing(why) => ("missing", why.clone()),
                    Outcome::Blocked(why) => ("blocked", why.clone()),
                    Outcome::Unknown(why) => ("unknown", why.clone()),
                };
                format!("{} on {}: {verdict} ({detail})", need.action, need.resource)
            })
            .chain(std::iter::once(format!("decided by {method}")))
            .chain(role.permissions_boundary.iter().map(|b| {
                format!(
                    "permissions boundary: {}",
                    b.arn.as_deref().unwrap_or(&b.name)
                )
            }))
            .chain(suffixless_resources(&docs, &secret.arn))
            .collect();

        let missing: Vec<&Need> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Missing(_)))
            .map(|(n, _)| *n)
            .collect();
        let blocked: Vec<&Need> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Blocked(_)))
            .map(|(n, _)| *n)
            .collect();
        let unknown: Vec<&Need> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Unknown(_)))
            .map(|(n, _)| *n)
            .collect();
        let names = |list: &[&Need]| {
            let mut names: Vec<&str> = list.iter().map(|n| n.action).collect();
            names.dedup();
            names.join(", ")
        };

        if missing.is_empty() && blocked.is_empty() {
            let finding = if unknown.is_empty() {
                META.finding(
                    Status::Pass,
                    &role.arn,
                    format!(
                        "the execution role {} allows the {} actions rotation needs (decided by {method})",
                        role.name,
                        needs.len()
                    ),
                )
            } else {
                META.finding(
                    Status::Unknown,
                    &role.arn,
                    format!(
                        "could not decide whether the execution role {} allows {} (decided by {method})",
                        role.name,
                        names(&unknown)
                    ),
                )
            };
            return vec![finding.with_evidence(evidence)];
        }

        let mut lacking: Vec<&Need> = missing.iter().chain(&blocked).copied().collect();
        lacking.sort_by_key(|n| needs.iter().position(|m| m == *n));
        let mut message = format!(
            "the execution role {} lacks {} (decided by {method})",
            role.name,
            names(&lacking)
        );
        if !blocked.is_empty() {
            message.push_str(&format!(
                "; {} {} blocked by an explicit Deny or the permissions boundary",
                names(&blocked),
                if blocked.len() == 1 { "is" } else { "are" }
            ));
        }
        let mut finding = META
            .finding(Status::Fail, &role.arn, message)
            .with_evidence(evidence);
        let mut remediation = Vec::new();
        if !missing.is_empty() {
            let document = fix_document(&missing);
            let policy_name = fix_policy_name(&document);
            remediation.push(format!(
                "aws iam put-role-policy --role-name {} --policy-name {policy_name} --policy-document '{document}'",
                role.name
            ));
            finding = finding.with_fix(FixPlan {
                summary: format!("grant the execution role {} {}", role.name, names(&missing)),
                rationale: "Adds one inline policy with exactly the missing actions, scoped to \
                            the secret (and * for the password generator and the network \
                            interfaces, the key for KMS); nothing existing changes."
                    .to_string(),
                actions: vec![FixAction::PutRolePolicy {
                    role_name: role.name.clone(),
                    policy_name,
                    document,
                }],
            });
        }
        if !blocked.is_empty() {
            remediation.push(format!(
                "Remove or narrow the Deny statement or the permissions boundary that blocks {}: an added Allow does not override it.",
                names(&blocked)
            ));
        }
        vec![finding.with_remediation(remediation.join("\n"))]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            use crate::fixtures::SECRET_ARN;
            // The lab role without PutSecretValue.
            with_inline(json!({"Statement": [
                {"Effect": "Allow", "Action": [
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:UpdateSecretVersionStage"
                ], "Resource": SECRET_ARN},
                {"Effect": "Allow", "Action": ["secretsmanager:GetRandomPassword", "ec2:*NetworkInterface*"], "Resource": "*"}
            ]}))
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

/// Resources that name this secret without its random 6-character suffix
/// (aws-cdk#28308): they match nothing.
fn suffixless_resources(docs: &[(&str, &Value)], secret_arn: &str) -> Vec<String> {
    let Some(base) = Arn::parse(secret_arn).and_then(|a| a.without_secret_suffix()) else {
        return Vec::new();
    };
    let base = base.as_str();
    docs.iter()
        .flat_map(|(label, doc)| {
            crate::policy::statements(doc)
                .into_iter()
                .flat_map(|s| crate::policy::strings(s.get("Resource")))
                .filter(|r| *r == base)
                .map(move |r| {
                    format!(
                        "note: {label} names {r}, without the secret's random suffix: it matches nothing; use {secret_arn} or {base}-??????"
                    )
                })
        })
        .collect()
}

#[cfg(test)]
fn with_inline(document: Value) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    crate::fixtures::get(&mut facts.execution_role).inline_policies =
        Fact::Present(vec![crate::facts::RolePolicy {
            name: "rotation".to_string(),
            arn: None,
            document: Fact::Present(document),
        }]);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{RolePolicy, SimulatedAction};
    use crate::fixtures::{get, lab_key, KEY_ARN, SECRET_ARN};

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&RolePermissions, facts).remove(0)
    }

    fn put_role_policy(f: &Finding) -> (&str, &Value) {
        match f.fixes.first().and_then(|p| p.actions.first()) {
            Some(FixAction::PutRolePolicy {
                role_name,
                document,
                ..
            }) => (role_name.as_str(), document),
            other => panic!("no PutRolePolicy fix: {other:?}"),
        }
    }

    #[test]
    fn a_missing_put_secret_value_fails_with_exactly_that_action_and_a_safe_fix() {
        let f = first(&RolePermissions.fixtures().0);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.message.contains("lacks secretsmanager:PutSecretValue ("),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("our evaluation of 1 policy"),
            "{}",
            f.message
        );
        let (role, document) = put_role_policy(&f);
        assert_eq!(role, "lab-rotation");
        assert_eq!(
            document["Statement"],
            json!([{"Effect": "Allow", "Action": ["secretsmanager:PutSecretValue"], "Resource": SECRET_ARN}])
        );
        assert_eq!(f.fixes[0].safety(), crate::fix::Safety::Safe);
        assert!(f
            .evidence
            .iter()
            .any(|e| e.starts_with("secretsmanager:PutSecretValue on") && e.contains("missing")));
    }

    #[test]
    fn the_lab_role_passes_and_names_the_method() {
        let f = first(&RolePermissions.fixtures().1);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(
            f.message.contains("our evaluation of 1 policy"),
            "{}",
            f.message
        );
        assert!(f.message.contains("allows the 8 actions"), "{}", f.message);
    }

    #[test]
    fn an_rds_managed_master_secret_needs_the_database_lookup() {
        let mut facts = crate::fixtures::rds_managed_master(RolePermissions.fixtures().1);
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.message.contains("lacks rds:DescribeDBInstances ("),
            "{}",
            f.message
        );
        let (_, document) = put_role_policy(&f);
        assert_eq!(
            document["Statement"],
            json!([{"Effect": "Allow", "Action": ["rds:DescribeDBInstances"], "Resource": "arn:aws:rds:us-east-1:123456789012:db:lab-db"}])
        );
        // A cluster's master secret needs DescribeDBClusters instead.
        if let Fact::Present(master) = &mut facts.master_secret {
            master.rds_primary_arn =
                Some("arn:aws:rds:us-east-1:123456789012:cluster:lab-aurora".into());
        }
        let f = first(&facts);
        assert!(
            f.message.contains("lacks rds:DescribeDBClusters ("),
            "{}",
            f.message
        );
        // Granted, it passes with one action more than the lab's.
        if let Fact::Present(policies) = &mut get(&mut facts.execution_role).inline_policies {
            if let Fact::Present(document) = &mut policies[0].document {
                document["Statement"]
                    .as_array_mut()
                    .expect("statements")
                    .push(json!({"Effect": "Allow", "Action": "rds:Describe*", "Resource": "*"}));
            }
        }
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.message.contains("allows the 9 actions"), "{}", f.message);
    }

    #[test]
    fn an_elasticache_user_secret_needs_describe_and_modify_on_the_user() {
        let mut facts = crate::fixtures::elasticache_user();
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        for action in ["elasticache:DescribeUsers", "elasticache:ModifyUser"] {
            assert!(f.message.contains(action), "{}", f.message);
        }
        let (_, document) = put_role_policy(&f);
        assert_eq!(
            document["Statement"],
            json!([{"Effect": "Allow", "Action": ["elasticache:DescribeUsers", "elasticache:ModifyUser"], "Resource": "arn:aws:elasticache:us-east-1:123456789012:user:app-user"}])
        );
        if let Fact::Present(policies) = &mut get(&mut facts.execution_role).inline_policies {
            if let Fact::Present(document) = &mut policies[0].document {
                document["Statement"]
                    .as_array_mut()
                    .expect("statements")
                    .push(json!({
                        "Effect": "Allow",
                        "Action": ["elasticache:DescribeUsers", "elasticache:ModifyUser"],
                        "Resource": "arn:aws:elasticache:us-east-1:123456789012:user:app-user"
                    }));
            }
        }
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.message.contains("allows the 10 actions"), "{}", f.message);
    }

    #[test]
    fn outside_a_vpc_the_eni_actions_are_not_needed() {
        let mut facts = with_inline(json!({"Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
        ]}));
        assert_eq!(first(&facts).status, Status::Fail);
        get(&mut facts.lambda).vpc = None;
        assert_eq!(first(&facts).status, Status::Pass);
    }

    #[test]
    fn a_vpc_function_without_eni_actions_fails_with_a_star_scoped_fix() {
        let facts = with_inline(json!({"Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
        ]}));
        let f = first(&facts);
        assert!(f.message.contains("ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DeleteNetworkInterface"), "{}", f.message);
        let (_, document) = put_role_policy(&f);
        assert_eq!(document["Statement"][0]["Resource"], "*");
    }

    #[test]
    fn an_explicit_deny_wins_and_is_not_fixed_by_an_allow() {
        let mut facts = RolePermissions.fixtures().1;
        get(&mut facts.execution_role).attached_policies = Fact::Present(vec![RolePolicy {
            name: "deny-writes".into(),
            arn: Some("arn:aws:iam::123456789012:policy/deny-writes".into()),
            document: Fact::Present(json!({"Statement": {"Sid": "NoWrites", "Effect": "Deny",
                "Action": ["secretsmanager:Put*", "secretsmanager:Update*"], "Resource": "*"}})),
        }]);
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("blocked by an explicit Deny"),
            "{}",
            f.message
        );
        assert!(f.fixes.is_empty(), "an Allow cannot beat a Deny");
        assert!(f
            .evidence
            .iter()
            .any(|e| e.contains("attached policy deny-writes, statement NoWrites")));
    }

    #[test]
    fn wildcards_and_not_action_grant() {
        let facts = with_inline(json!({"Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}
        ]}));
        assert_eq!(first(&facts).status, Status::Pass);
        let facts = with_inline(json!({"Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/*"},
            {"Effect": "Allow", "Action": ["secretsmanager:GetRandomPassword", "ec2:*"], "Resource": "*"}
        ]}));
        assert_eq!(first(&facts).status, Status::Pass);
    }

    #[test]
    fn not_resource_excluding_the_secret_fails() {
        let facts = with_inline(json!({"Statement": [
            {"Effect": "Allow", "Action": ["secretsmanager:*", "ec2:*"], "NotResource": SECRET_ARN}
        ]}));
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("secretsmanager:DescribeSecret, secretsmanager:GetSecretValue, secretsmanager:PutSecretValue, secretsmanager:UpdateSecretVersionStage ("), "{}", f.message);
    }

    #[test]
    fn conditions_make_the_action_unknown() {
        let facts = with_inline(json!({"Statement": [
            {"Effect": "Allow", "Action": ["secretsmanager:*", "ec2:*"], "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
        ]}));
        let f = first(&facts);
        assert_eq!(f.status, Status::Unknown, "{f:?}");
        assert!(f
            .evidence
            .iter()
            .any(|e| e.contains("IpAddress aws:SourceIp")));
    }

    #[test]
    fn an_unreadable_attached_policy_makes_a_missing_action_unknown() {
        let mut facts = RolePermissions.fixtures().0;
        get(&mut facts.execution_role).attached_policies = Fact::Present(vec![RolePolicy {
            name: "AWSLambdaVPCAccessExecutionRole".into(),
            arn: Some(
                "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole".into(),
            ),
            document: Fact::Unavailable(crate::facts::Unavailable {
                call: "iam:GetPolicy".into(),
                kind: ErrorKind::NotFound,
                message: "NoSuchEntity".into(),
            }),
        }]);
        let f = first(&facts);
        assert_eq!(f.status, Status::Unknown, "{f:?}");
        assert!(f.message.contains("secretsmanager:PutSecretValue"));
    }

    #[test]
    fn the_permissions_boundary_must_allow_too() {
        let mut facts = RolePermissions.fixtures().1;
        get(&mut facts.execution_role).permissions_boundary = Some(RolePolicy {
            name: "boundary".into(),
            arn: Some("arn:aws:iam::123456789012:policy/boundary".into()),
            document: Fact::Present(json!({"Statement": {"Effect": "Allow",
                "Action": ["secretsmanager:Get*", "secretsmanager:Describe*", "ec2:*"], "Resource": "*"}})),
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .contains("secretsmanager:PutSecretValue, secretsmanager:UpdateSecretVersionStage"),
            "{}",
            f.message
        );
        assert!(f.fixes.is_empty());
    }

    #[test]
    fn a_customer_managed_key_needs_decrypt_and_generate_data_key() {
        let mut facts = RolePermissions.fixtures().1;
        get(&mut facts.secret).kms_key_id = Some(KEY_ARN.to_string());
        facts.kms_key = Fact::Present(lab_key());
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("lacks kms:Decrypt, kms:GenerateDataKey"),
            "{}",
            f.message
        );
        let (_, document) = put_role_policy(&f);
        assert_eq!(document["Statement"][0]["Resource"], KEY_ARN);

        // Granted with AWS's documented encryption-context condition: evaluated.
        let mut role = crate::fixtures::lab_role();
        if let Fact::Present(list) = &mut role.inline_policies {
            list.push(RolePolicy {
                name: "kms".into(),
                arn: None,
                document: Fact::Present(json!({"Statement": {"Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], "Resource": KEY_ARN,
                    "Condition": {"StringEquals": {"kms:EncryptionContext:SecretARN": SECRET_ARN}}}})),
            });
        }
        facts.execution_role = Fact::Present(role);
        assert_eq!(first(&facts).status, Status::Pass);
    }

    #[test]
    fn a_key_policy_naming_the_role_is_enough_for_kms() {
        let mut facts = RolePermissions.fixtures().1;
        get(&mut facts.secret).kms_key_id = Some(KEY_ARN.to_string());
        let mut key = lab_key();
        key.policy = Fact::Present(json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": crate::fixtures::ROLE_ARN},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}));
        facts.kms_key = Fact::Present(key);
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f
            .evidence
            .iter()
            .any(|e| e.contains("the key policy, which names the role")));
    }

    #[test]
    fn an_aws_managed_key_needs_nothing() {
        let mut facts = RolePermissions.fixtures().1;
        get(&mut facts.secret).kms_key_id = Some("alias/aws/secretsmanager".to_string());
        facts.kms_key = Fact::NotApplicable("AWS managed".into());
        assert_eq!(first(&facts).status, Status::Pass);
    }

    #[test]
    fn the_simulation_decides_when_it_answers() {
        let mut facts = RolePermissions.fixtures().0;
        let needs = rotation_role_needs(SECRET_ARN, None, true, Vec::new());
        get(&mut facts.execution_role).simulation = Fact::Present(
            needs
                .iter()
                .map(|n| SimulatedAction {
                    action: n.action.to_string(),
                    resource: n.resource.clone(),
                    decision: "allowed".into(),
                    missing_context: Vec::new(),
                })
                .collect(),
        );
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.message.contains("decided by iam:SimulatePrincipalPolicy"));
    }

    #[test]
    fn a_resource_without_the_random_suffix_is_pointed_out() {
        let base = Arn::parse(SECRET_ARN)
            .and_then(|a| a.without_secret_suffix())
            .unwrap_or_default();
        let facts = with_inline(json!({"Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": base},
            {"Effect": "Allow", "Action": ["secretsmanager:GetRandomPassword", "ec2:*"], "Resource": "*"}
        ]}));
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(f
            .evidence
            .iter()
            .any(|e| e.contains("without the secret's random suffix")));
    }

    #[test]
    fn a_missing_role_is_unknown_here() {
        let mut facts = RolePermissions.fixtures().1;
        facts.execution_role = Fact::Unavailable(crate::facts::Unavailable {
            call: "iam:GetRole".into(),
            kind: ErrorKind::NotFound,
            message: "NoSuchEntity".into(),
        });
        assert_eq!(first(&facts).status, Status::Unknown);
    }

    #[test]
    fn fix_policy_names_are_stable() {
        let doc = json!({"a": 1});
        assert_eq!(fix_policy_name(&doc), fix_policy_name(&json!({"a": 1})));
        assert_ne!(fix_policy_name(&doc), fix_policy_name(&json!({"a": 2})));
    }
}
