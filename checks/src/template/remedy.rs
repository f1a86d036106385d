//! A fix plan said as a change to the template. The plans are made for a
//! live account (`--fix` runs them with the AWS API); before a deployment
//! the same change is written into the template, at the line the finding
//! points at. CloudFormation and Terraform name the same things
//! differently, so each sentence names both where they differ; a Terraform
//! plan's resource ids are addresses (`aws_security_group.db`), which tells
//! them apart.

use crate::finding::Finding;
use crate::fix::{EgressDestination, FixAction, FixPlan};

/// The finding's remediation for a template: one line per fix plan, the
/// preferred first, each saying what to write. `None` when it has no plan
/// (its own remediation then says what to do).
pub fn remediation(finding: &Finding) -> Option<String> {
    let lines: Vec<String> = finding.fixes.iter().filter_map(plan_line).collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

fn plan_line(plan: &FixPlan) -> Option<String> {
    let changes: Vec<String> = plan.actions.iter().filter_map(change).collect();
    (!changes.is_empty()).then(|| format!("In the template: {}", changes.join("; ")))
}

/// Whether the resource ids are a Terraform plan's addresses.
fn is_terraform(id: &str) -> bool {
    id.starts_with("aws_") && id.contains('.')
}

/// What to write for one action, or `None` for one that has no template
/// form (a version label is state, not configuration).
fn change(action: &FixAction) -> Option<String> {
    Some(match action {
        FixAction::AuthorizeIngressFromGroup {
            group_id,
            port,
            source_group_id,
            ..
        } => format!(
            "add to {group_id} an inbound rule for tcp/{port} from security group {source_group_id} ({})",
            if is_terraform(group_id) {
                "an ingress block, or an aws_vpc_security_group_ingress_rule with referenced_security_group_id"
            } else {
                "SecurityGroupIngress with SourceSecurityGroupId, or an AWS::EC2::SecurityGroupIngress"
            }
        ),
        FixAction::AuthorizeEgress {
            group_id,
            port,
            destination,
            ..
        } => {
            let to = match destination {
                EgressDestination::Group(group) => format!("security group {group}"),
                EgressDestination::Cidr(cidr) => cidr.clone(),
            };
            format!("add to {group_id} an outbound rule for tcp/{port} to {to}")
        }
        FixAction::UpdateLambdaVpc {
            function_name,
            subnet_ids,
            security_group_ids,
            ..
        } => format!(
            "give the rotation function {function_name} subnets {} and security groups {} ({})",
            subnet_ids.join(", "),
            security_group_ids.join(", "),
            if is_terraform(function_name) {
                "its vpc_config"
            } else {
                "its VpcConfig, or the HostedRotationLambda's VpcSubnetIds and VpcSecurityGroupIds"
            }
        ),
        FixAction::CreateInterfaceEndpoint {
            vpc_id,
            service_name,
            subnet_ids,
            security_group_ids,
        } => format!(
            "add an interface endpoint for {service_name} with private DNS in {vpc_id}, subnets {}, security groups {} ({})",
            subnet_ids.join(", "),
            security_group_ids.join(", "),
            if is_terraform(vpc_id) {
                "an aws_vpc_endpoint"
            } else {
                "an AWS::EC2::VPCEndpoint"
            }
        ),
        FixAction::AddInvokePermission { function_name, .. } => format!(
            "let secretsmanager.amazonaws.com invoke {function_name} ({})",
            if is_terraform(function_name) {
                "an aws_lambda_permission"
            } else {
                "an AWS::Lambda::Permission"
            }
        ),
        FixAction::PutRolePolicy {
            role_name,
            document,
            ..
        } => format!(
            "allow the role {role_name} {}",
            actions_of(document).join(", ")
        ),
        FixAction::SetLambdaEnvironment {
            function_name,
            name,
            value,
            ..
        } => format!("set {function_name}'s environment variable {name} to {value}"),
        FixAction::RemovePendingLabel { .. } => return None,
    })
}

/// The actions a policy document allows.
fn actions_of(document: &serde_json::Value) -> Vec<String> {
    let statements = match &document["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    let mut actions: Vec<String> = statements
        .iter()
        .flat_map(|statement| match &statement["Action"] {
            serde_json::Value::String(action) => vec![action.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::tests::{load_one, LAB};

    #[test]
    fn the_lab_template_is_fixed_in_the_template_not_with_the_cli() {
        let diagnosis = crate::diagnose(&load_one(LAB).facts);
        let net002 = diagnosis
            .findings
            .iter()
            .find(|f| f.check == "NET002")
            .expect("NET002");
        let text = remediation(net002).expect("NET002 has plans");
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("In the template: give the rotation function")
                && first.contains("LambdaSubnetA, LambdaSubnetB")
                && first.contains("LambdaSecurityGroup")
                && first.contains("VpcSubnetIds"),
            "{text}"
        );
        assert!(
            text.contains("add to DbSecurityGroup an inbound rule for tcp/3306"),
            "{text}"
        );
        assert!(!text.contains("aws "), "no CLI command: {text}");
    }

    #[test]
    fn terraform_addresses_get_terraform_words() {
        let plan = FixPlan {
            summary: String::new(),
            rationale: String::new(),
            actions: vec![FixAction::AuthorizeIngressFromGroup {
                group_id: "aws_security_group.db".into(),
                port: 5432,
                source_group_id: "aws_security_group.lambda".into(),
                description: String::new(),
            }],
        };
        let line = plan_line(&plan).unwrap_or_default();
        assert!(
            line.contains("aws_vpc_security_group_ingress_rule"),
            "{line}"
        );
        assert!(!line.contains("AWS::EC2"), "{line}");
    }

    #[test]
    fn a_version_label_has_no_template_form() {
        let plan = FixPlan {
            summary: String::new(),
            rationale: String::new(),
            actions: vec![FixAction::RemovePendingLabel {
                secret_id: "s".into(),
                version_id: "v".into(),
            }],
        };
        assert_eq!(plan_line(&plan), None);
    }
}
