//! Fix plans: what a finding proposes to change, as typed data. Checks build
//! plans (pure); the binary shows, applies, journals and undoes them. Each
//! action carries a safety class in the spirit of ruff's fix applicability
//! (https://docs.astral.sh/ruff/linter/#fix-safety): `safe` adds and
//! cannot break what works; `unsafe` changes existing configuration or data
//! and is applied only with `--unsafe-fixes`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Safety {
    Safe,
    Unsafe,
}

impl Safety {
    pub fn as_str(self) -> &'static str {
        match self {
            Safety::Safe => "safe",
            Safety::Unsafe => "unsafe",
        }
    }
}

/// The plan a finding proposes: alternatives are separate plans, tried in
/// order of preference; one plan's actions are applied in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixPlan {
    /// One line: what the plan achieves.
    pub summary: String,
    /// Why this plan was chosen over the others, for the person approving it.
    pub rationale: String,
    pub actions: Vec<FixAction>,
}

impl FixPlan {
    /// The plan's class: unsafe as soon as one action is.
    pub fn safety(&self) -> Safety {
        self.actions
            .iter()
            .map(|a| a.safety())
            .max()
            .unwrap_or(Safety::Safe)
    }
}

/// One change to one resource. Every variant records what it needs to be
/// re-checked before it is applied and undone after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FixAction {
    /// Admit tcp/`port` from `source_group_id` on `group_id`.
    AuthorizeIngressFromGroup {
        group_id: String,
        port: u16,
        source_group_id: String,
        description: String,
    },
    /// Allow tcp/`port` out of `group_id` to a group or a CIDR.
    AuthorizeEgress {
        group_id: String,
        port: u16,
        destination: EgressDestination,
        description: String,
    },
    /// Move the Lambda; both lists are always sent (a VpcConfig without
    /// SecurityGroupIds corrupts the function in moto: docs/moto-notes.md,
    /// "Lambda").
    UpdateLambdaVpc {
        function_name: String,
        subnet_ids: Vec<String>,
        security_group_ids: Vec<String>,
        /// The configuration the plan was made from; a different one at
        /// apply time stops the action.
        previous_subnet_ids: Vec<String>,
        previous_security_group_ids: Vec<String>,
    },
    /// Create an interface endpoint with private DNS (billed hourly).
    CreateInterfaceEndpoint {
        vpc_id: String,
        service_name: String,
        subnet_ids: Vec<String>,
        security_group_ids: Vec<String>,
    },
    /// Let Secrets Manager invoke the function, limited to this account.
    AddInvokePermission {
        function_name: String,
        statement_id: String,
        source_account: String,
    },
    /// An inline policy on the execution role with exactly the missing actions.
    PutRolePolicy {
        role_name: String,
        policy_name: String,
        document: serde_json::Value,
    },
    /// Set one environment variable of the function, keeping the others.
    SetLambdaEnvironment {
        function_name: String,
        name: String,
        value: String,
        previous_value: Option<String>,
    },
    /// Take AWSPENDING off a version that is not AWSCURRENT.
    RemovePendingLabel {
        secret_id: String,
        version_id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EgressDestination {
    Group(String),
    Cidr(String),
}

impl FixAction {
    pub fn safety(&self) -> Safety {
        match self {
            FixAction::AuthorizeIngressFromGroup { .. }
            | FixAction::AuthorizeEgress { .. }
            | FixAction::CreateInterfaceEndpoint { .. }
            | FixAction::AddInvokePermission { .. }
            | FixAction::PutRolePolicy { .. } => Safety::Safe,
            FixAction::UpdateLambdaVpc { .. }
            | FixAction::SetLambdaEnvironment { .. }
            | FixAction::RemovePendingLabel { .. } => Safety::Unsafe,
        }
    }

    /// The IAM actions applying (and undoing) this action needs.
    pub fn iam_actions(&self) -> &'static [&'static str] {
        match self {
            FixAction::AuthorizeIngressFromGroup { .. } => &[
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
            ],
            FixAction::AuthorizeEgress { .. } => &[
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupEgress",
            ],
            FixAction::UpdateLambdaVpc { .. } | FixAction::SetLambdaEnvironment { .. } => &[
                "lambda:GetFunctionConfiguration",
                "lambda:UpdateFunctionConfiguration",
            ],
            FixAction::CreateInterfaceEndpoint { .. } => {
                &["ec2:CreateVpcEndpoint", "ec2:DeleteVpcEndpoints"]
            }
            FixAction::AddInvokePermission { .. } => &[
                "lambda:GetPolicy",
                "lambda:AddPermission",
                "lambda:RemovePermission",
            ],
            FixAction::PutRolePolicy { .. } => &[
                "iam:GetRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
            ],
            FixAction::RemovePendingLabel { .. } => &[
                "secretsmanager:DescribeSecret",
                "secretsmanager:UpdateSecretVersionStage",
            ],
        }
    }

    /// What it changes, in one sentence.
    pub fn describe(&self) -> String {
        match self {
            FixAction::AuthorizeIngressFromGroup {
                group_id,
                port,
                source_group_id,
                ..
            } => format!("add an inbound rule to {group_id}: tcp/{port} from {source_group_id}"),
            FixAction::AuthorizeEgress {
                group_id,
                port,
                destination,
                ..
            } => {
                let to = match destination {
                    EgressDestination::Group(g) => g,
                    EgressDestination::Cidr(c) => c,
                };
                format!("add an outbound rule to {group_id}: tcp/{port} to {to}")
            }
            FixAction::UpdateLambdaVpc {
                function_name,
                subnet_ids,
                security_group_ids,
                ..
            } => format!(
                "move Lambda {function_name} to subnets {} with security groups {}",
                subnet_ids.join(", "),
                security_group_ids.join(", ")
            ),
            FixAction::CreateInterfaceEndpoint {
                vpc_id,
                service_name,
                subnet_ids,
                security_group_ids,
            } => format!(
                "create an interface endpoint for {service_name} in {vpc_id} (subnets {}, security groups {}) with private DNS; it is billed by the hour",
                subnet_ids.join(", "),
                security_group_ids.join(", ")
            ),
            FixAction::AddInvokePermission {
                function_name,
                source_account,
                ..
            } => format!(
                "let secretsmanager.amazonaws.com invoke {function_name}, for account {source_account} only"
            ),
            FixAction::PutRolePolicy {
                role_name,
                policy_name,
                ..
            } => format!("put inline policy {policy_name} on role {role_name}"),
            FixAction::SetLambdaEnvironment {
                function_name,
                name,
                value,
                ..
            } => format!("set {name}={value} on Lambda {function_name}"),
            FixAction::RemovePendingLabel {
                secret_id,
                version_id,
            } => format!("remove the AWSPENDING label from version {version_id} of {secret_id}"),
        }
    }
}
