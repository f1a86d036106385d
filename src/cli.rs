//! The command line: `diagnose`, `scan`, `template`, `checks`, `explain`, `rotate`,
//! `undo`, `apply`, `permissions`, `completions` and `man`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use rotation_doctor_checks::Severity;

use crate::aws::AwsArgs;

/// Tells why an AWS Secrets Manager secret failed to rotate, with the evidence
/// and the change that fixes it.
#[derive(Parser, Debug)]
#[command(name = "rotation-doctor", version, about, long_about = None)]
pub struct Cli {
    /// When to colour the output: auto (on a terminal, unless NO_COLOR is
    /// set), always or never.
    #[arg(
        long,
        value_enum,
        global = true,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorChoice,

    /// Print only what was asked for: the report (a table shrinks to each
    /// secret's verdict), errors and the exit code; no progress or notes.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Diagnose one secret's rotation: its Lambda, network paths, logs.
    Diagnose(DiagnoseArgs),
    /// Diagnose every rotating secret of one or more regions (CI gates).
    Scan(ScanArgs),
    /// Diagnose the rotations a CloudFormation template, a Terraform plan
    /// (terraform show -json) or a CDK cloud assembly (cdk synth's cdk.out)
    /// describes, before it is deployed (no AWS calls).
    Template(TemplateArgs),
    /// List every check.
    Checks {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        output: ListFormat,
    },
    /// Print what a check looks at, why it matters and how to fix it.
    Explain {
        /// A check's id or name, as `checks` lists them (NET002 or
        /// database-unreachable).
        id: String,
    },
    /// Start a rotation; with --wait, watch it and diagnose a failure.
    Rotate(RotateArgs),
    /// Reverse the changes a `--fix` journal recorded, newest first.
    Undo(UndoArgs),
    /// Apply a plan saved with `diagnose --dry-run --output json`.
    Apply(ApplyArgs),
    /// Combine JSON reports of separate runs (one per account or region)
    /// into one report, in any output format.
    Merge(MergeArgs),
    /// Print the least-privilege IAM policy rotation-doctor needs.
    Permissions {
        /// The policy for --fix, apply, undo and rotate instead of the
        /// read-only one for diagnose, scan and template --live.
        #[arg(long)]
        fix: bool,
        /// The policy of the principal that runs `scan --role-name`: assume
        /// the role in each account, list the organization's accounts.
        #[arg(long, conflicts_with = "fix")]
        scanner: bool,
    },
    /// Print the completion script for a shell.
    ///
    /// Save it where the shell looks for completions, e.g. for bash:
    /// `rotation-doctor completions bash >
    /// ~/.local/share/bash-completion/completions/rotation-doctor`.
    Completions {
        /// The shell the script is for.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print the man page (roff), every subcommand included.
    ///
    /// Read it with `rotation-doctor man > rotation-doctor.1 && man
    /// ./rotation-doctor.1`.
    Man,
}

/// The shells `completions` writes a script for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// The saved plan.
    pub plan: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Where to write the journal (default: a file in the working directory).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Only secrets that match: name-prefix=PREFIX or tag=KEY=VALUE
    /// (repeatable; all must match).
    #[arg(long = "filter", value_name = "FILTER", value_parser = crate::scan::parse_filter)]
    pub filters: Vec<crate::scan::SecretFilter>,

    /// How many secrets are read and diagnosed at once in each region
    /// while it is listed (after the listing, diagnoses that mostly reuse
    /// what was read may run 64 more at a time, across the whole run).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// Print the AWS calls made per service and operation, retries and wall
    /// time on stderr (and under "stats" in the JSON).
    #[arg(long)]
    pub stats: bool,

    #[command(flatten)]
    pub accounts: crate::accounts::AccountArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(clap::Args, Debug)]
pub struct RotateArgs {
    /// The secret's name or ARN.
    pub secret: String,
    /// Wait until the new version is AWSCURRENT, or the rotation fails.
    #[arg(long)]
    pub wait: bool,
    /// How long to wait, e.g. 5m.
    #[arg(long, default_value = "5m", value_parser = parse_timeout)]
    pub timeout: std::time::Duration,
    /// Output format of the diagnosis shown when the rotation fails.
    #[arg(long, value_enum)]
    pub output: Option<OutputFormat>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Reports written with `--output json` by `diagnose` or `scan`.
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,

    #[command(flatten)]
    pub view: ViewArgs,

    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(clap::Args, Debug)]
pub struct UndoArgs {
    /// The journal `--fix` wrote.
    pub journal: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
pub struct DiagnoseArgs {
    /// The secret's name or ARN (or --snapshot FILE instead).
    #[arg(conflicts_with = "snapshot")]
    pub secret: Option<String>,

    /// Diagnose a saved snapshot instead of a live account (no AWS calls).
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,

    /// Write the collected facts (no secret values) to FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "snapshot")]
    pub save_snapshot: Option<PathBuf>,

    /// Apply the fixes the findings propose (asks first; see --yes).
    #[arg(long, conflicts_with = "snapshot")]
    pub fix: bool,

    /// Show the fix plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Apply without asking (needed when not on a terminal).
    #[arg(long)]
    pub yes: bool,

    /// Also apply fixes that change existing configuration (moving the
    /// Lambda, setting its environment, clearing a stuck AWSPENDING).
    #[arg(long)]
    pub unsafe_fixes: bool,

    /// Where --fix writes its journal (default: a file in the working directory).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// After --fix, rotate the secret and wait for the result.
    #[arg(long, requires = "fix")]
    pub rotate: bool,

    /// Print the diagnosis's AWS calls per service and operation, retries
    /// and wall time on stderr (and under "stats" in the JSON).
    #[arg(long, conflicts_with = "snapshot")]
    pub stats: bool,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(clap::Args, Debug)]
pub struct TemplateArgs {
    /// CloudFormation templates, YAML or JSON (SAM and the Secrets Manager
    /// transform as written), Terraform plans as `terraform show -json`
    /// writes them, or CDK cloud assemblies (the directory `cdk synth`
    /// writes, cdk.out).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A template parameter's value (repeatable); parameters without one
    /// take their Default. `AWS::AccountId` and `AWS::StackName` may be set
    /// this way too (over a CDK stack's own).
    #[arg(long = "parameter", value_name = "KEY=VALUE", value_parser = parse_parameter)]
    pub parameters: Vec<(String, String)>,

    /// The region the template is deployed to (AWS::Region) [default: a CDK
    /// stack's environment region, else us-east-1; with --live the
    /// profile's or AWS_REGION].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Read the existing resources the template names by id (a VPC,
    /// subnets, security groups, the database a secret is attached to)
    /// from the account, with diagnose's read-only calls, and diagnose
    /// them together with what the template creates.
    #[arg(long)]
    pub live: bool,

    /// With --live: a named profile from the shared config files.
    #[arg(long, requires = "live")]
    pub profile: Option<String>,

    /// With --live: send every AWS call to this endpoint (a local
    /// emulator such as moto).
    #[arg(long, value_name = "URL", requires = "live")]
    pub endpoint_url: Option<String>,

    #[command(flatten)]
    pub view: ViewArgs,

    #[command(flatten)]
    pub gate: GateArgs,

    #[command(flatten)]
    pub accept: AcceptArgs,
}

impl TemplateArgs {
    /// The AWS flags, as `diagnose` takes them, for --live.
    pub fn aws(&self) -> AwsArgs {
        AwsArgs {
            region: self.region.iter().cloned().collect(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

fn parse_parameter(text: &str) -> Result<(String, String), String> {
    rotation_doctor_checks::template::parse_parameter(text)
}

/// The flags `diagnose` and `scan` share: what to read, how to report, and
/// when to fail.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub view: ViewArgs,

    /// How far back to read the rotation Lambdas' logs, e.g. 24h, 3d
    /// (default 24h). A snapshot keeps the window it was saved with.
    #[arg(long, value_parser = parse_since)]
    pub since: Option<std::time::Duration>,

    #[command(flatten)]
    pub gate: GateArgs,

    #[command(flatten)]
    pub accept: AcceptArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How a report is shown: its format, and how much of it a table lists.
#[derive(clap::Args, Debug)]
pub struct ViewArgs {
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub output: Option<OutputFormat>,

    /// List every finding and every network path in the table, not only
    /// what fails, warns or is unknown (other formats always have all).
    #[arg(long)]
    pub all: bool,

    /// Show each network path's hops as a tree in the table.
    #[arg(long, short)]
    pub verbose: bool,
}

/// When a report fails the run (the exit code a CI gate reads).
#[derive(clap::Args, Debug)]
pub struct GateArgs {
    /// Exit 1 only for a failing finding at or above this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "info", value_parser = severity_parser())]
    pub fail_on: Severity,

    /// Do not exit 1 when a check that decides whether rotation can work
    /// is unknown (a call was denied or failed, or a template leaves what
    /// it needs to the deployment).
    #[arg(long)]
    pub allow_unknown: bool,
}

impl GateArgs {
    /// 1 when the targets fail the gate, else 0.
    pub fn exit_code(&self, targets: &[crate::report::Target]) -> u8 {
        crate::report::exit_code(targets, self.fail_on, self.allow_unknown) as u8
    }
}

/// Findings a team has accepted.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AcceptArgs {
    /// Suppressions (default: .rotation-doctor.toml in the working directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Accept the failures recorded in FILE; when FILE does not exist yet,
    /// record the current failures in it.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
    /// Markdown with a Mermaid diagram per network path, for a pull-request
    /// comment or $GITHUB_STEP_SUMMARY.
    Markdown,
    /// Graphviz DOT of the network paths (`dot -Tsvg`).
    Dot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    /// The table of checks in README.md.
    Markdown,
}

impl ReportArgs {
    /// The log window: `--since`, else 24 hours.
    pub fn since(&self) -> std::time::Duration {
        self.since.unwrap_or(DEFAULT_SINCE)
    }
}

const DEFAULT_SINCE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// CloudWatch Logs keeps what the log group's retention says; 90 days of
/// rotation attempts is plenty to diagnose and bounds the read.
const MAX_SINCE_HOURS: u64 = 24 * 90;

fn parse_since(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("{e} (use a duration such as 24h or 7d)"))?;
    let hours = duration.as_secs() / 3600;
    if hours == 0 {
        return Err("the log window must be at least 1h".to_string());
    }
    if hours > MAX_SINCE_HOURS {
        return Err(format!(
            "the log window can be at most {}d",
            MAX_SINCE_HOURS / 24
        ));
    }
    Ok(duration)
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("{e} (use a duration such as 90s or 5m)"))?;
    if duration.as_secs() == 0 || duration.as_secs() > 3600 {
        return Err("the timeout must be between 1s and 1h".to_string());
    }
    Ok(duration)
}

/// The severities by name, so that `--help` and a wrong value list them.
fn severity_parser() -> impl clap::builder::TypedValueParser<Value = Severity> {
    use clap::builder::TypedValueParser;
    let names = Severity::ALL.map(|s| s.as_str());
    // The possible values admit only names `Severity::parse` knows.
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| Severity::parse(&name).unwrap_or(Severity::Info))
}
