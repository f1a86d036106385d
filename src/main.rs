mod aws;
mod cli;
mod collect;
mod error;
mod report;
mod snapshot;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use rotation_doctor_checks::{rules, Facts};

use crate::cli::{Cli, Command, DiagnoseArgs, ListFormat, OutputFormat};
use crate::error::UserError;

fn main() -> ExitCode {
    // A bug must still end in one sentence, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("rotation-doctor: internal error{location}; please report it");
    }));
    if !std::io::stdout().is_terminal() {
        colored::control::set_override(false);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("rotation-doctor: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8, UserError> {
    match cli.command {
        Command::Diagnose(args) => diagnose(args),
        Command::Checks { output } => {
            print!("{}", list_checks(output));
            Ok(0)
        }
        Command::Explain { id } => {
            let check = rules::find(&id).ok_or_else(|| {
                UserError::new(format!(
                    "there is no check {id}: `rotation-doctor checks` lists them"
                ))
            })?;
            let meta = check.meta();
            println!("# {} {}\n\n{}", meta.id, meta.title, meta.docs);
            Ok(0)
        }
    }
}

fn diagnose(args: DiagnoseArgs) -> Result<u8, UserError> {
    let facts = match (&args.snapshot, &args.secret) {
        (Some(path), _) => snapshot::load(path)?,
        (None, Some(secret)) => collect_live(&args, secret)?,
        (None, None) => return Err(UserError::new("name a secret, or pass --snapshot FILE")),
    };
    if let Some(path) = &args.save_snapshot {
        snapshot::save(path, &facts)?;
        eprintln!("rotation-doctor: snapshot written to {}", path.display());
    }
    refuse_unrotated(&facts)?;

    let targets = vec![report::Target::from_facts(&facts)];
    let terminal = std::io::stdout().is_terminal();
    let output = args.output.unwrap_or(if terminal {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    });
    match output {
        OutputFormat::Json => println!("{}", report::render_json(&targets)),
        OutputFormat::Table => {
            let width = terminal
                .then(|| comfy_table::Table::new().width())
                .flatten();
            print!("{}", report::render_table(&targets, width));
        }
    }
    Ok(report::exit_code(&targets, args.fail_on) as u8)
}

fn collect_live(args: &DiagnoseArgs, secret: &str) -> Result<Facts, UserError> {
    if secret.trim().is_empty() {
        return Err(UserError::new("the secret id is empty"));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| UserError::new(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let config = aws::load_config(&args.aws).await?;
        let options = collect::CollectOptions { since: args.since };
        collect::collect(&config, secret, &options).await
    })
}

/// A secret that never had rotation configured has nothing to diagnose:
/// saying so beats a screen of skipped checks.
fn refuse_unrotated(facts: &Facts) -> Result<(), UserError> {
    let Some(secret) = facts.secret.present() else {
        return Ok(());
    };
    let has_lambda = secret
        .rotation_lambda_arn
        .as_deref()
        .is_some_and(|a| !a.is_empty());
    if has_lambda || secret.rotation_enabled == Some(true) || secret.owning_service.is_some() {
        return Ok(());
    }
    Err(UserError::new(format!(
        "secret {} has no rotation configured (no rotation Lambda, rotation not enabled), so there is nothing to diagnose; turn it on with `aws secretsmanager rotate-secret --secret-id {} --rotation-lambda-arn ARN`",
        secret.name, secret.name
    )))
}

fn list_checks(format: ListFormat) -> String {
    let metas = rules::ALL.iter().map(|c| c.meta());
    match format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = metas
                .map(|m| {
                    serde_json::json!({
                        "id": m.id, "name": m.name, "title": m.title,
                        "severity": m.severity.as_str(),
                    })
                })
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            )
        }
        ListFormat::Markdown => {
            let mut out = String::from(
                "| id | name | severity | what it checks |\n| --- | --- | --- | --- |\n",
            );
            for m in metas {
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    m.id,
                    m.name,
                    m.severity.as_str(),
                    m.title
                ));
            }
            out
        }
        ListFormat::Table => {
            let mut table = comfy_table::Table::new();
            table
                .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_header(["Id", "Severity", "Name", "Title"]);
            for m in metas {
                table.add_row([m.id, m.severity.as_str(), m.name, m.title]);
            }
            format!("{table}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_checks_table_matches_the_registry() {
        let readme = include_str!("../README.md");
        let start = readme
            .find("<!-- checks-table")
            .and_then(|i| readme[i..].find('\n').map(|n| i + n + 1))
            .expect("README has the checks-table marker");
        let end = readme
            .find("<!-- end checks-table -->")
            .expect("README has the end marker");
        assert_eq!(
            &readme[start..end],
            list_checks(ListFormat::Markdown),
            "regenerate README's table with `rotation-doctor checks --output markdown`"
        );
    }
}
