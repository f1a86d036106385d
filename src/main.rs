mod accounts;
mod actions;
mod aws;
mod cli;
mod collect;
mod completions;
mod error;
mod fix;
mod merge;
mod notice;
mod permissions;
mod report;
mod rotate;
mod scan;
mod snapshot;
mod suppress;
mod template;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use rotation_doctor_checks::{diagnose, rules, Arn, Facts};

use crate::cli::{
    ApplyArgs, Cli, Command, DiagnoseArgs, ListFormat, OutputFormat, RotateArgs, ScanArgs, UndoArgs,
};
use crate::error::UserError;

fn main() -> ExitCode {
    exit_quietly_on_closed_pipe();
    // A bug must still end in one sentence, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("rotation-doctor: internal error{location}; please report it");
    }));
    let cli = Cli::parse();
    set_colour(cli.color);
    notice::set_quiet(cli.quiet);
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
        Command::Diagnose(args) => diagnose_command(args),
        Command::Scan(args) => scan_command(args),
        Command::Template(args) => template::template_command(args),
        Command::Rotate(args) => rotate_command(args),
        Command::Undo(args) => undo_command(args),
        Command::Apply(args) => apply_command(args),
        Command::Merge(args) => merge_command(args),
        Command::Permissions { fix, scanner } => {
            let text = if fix {
                permissions::policy(&permissions::fix_actions(), "RotationDoctorFix")
            } else if scanner {
                permissions::policy(permissions::SCANNER_ACTIONS, "RotationDoctorScanner")
            } else {
                permissions::policy(permissions::READ_ACTIONS, "RotationDoctorRead")
            };
            println!("{text}");
            Ok(0)
        }
        Command::Checks { output } => {
            print!("{}", list_checks(output));
            Ok(0)
        }
        Command::Explain { id } => {
            let check = rules::find(&id).ok_or_else(|| {
                UserError::new(format!(
                    "there is no check {id:?}: `rotation-doctor checks` lists them"
                ))
            })?;
            let meta = check.meta();
            println!("# {} {}\n\n{}", meta.id, meta.title, meta.docs);
            Ok(0)
        }
        Command::Completions { shell } => {
            print!("{}", completions::completion_script(shell));
            Ok(0)
        }
        Command::Man => {
            print!("{}", completions::man_page()?);
            Ok(0)
        }
    }
}

/// `--color`: `auto` leaves it to `colored`, which honours `NO_COLOR` and
/// `CLICOLOR_FORCE`, and to whether stdout is a terminal.
fn set_colour(choice: cli::ColorChoice) {
    match choice {
        cli::ColorChoice::Always => colored::control::set_override(true),
        cli::ColorChoice::Never => colored::control::set_override(false),
        cli::ColorChoice::Auto if !std::io::stdout().is_terminal() => {
            colored::control::set_override(false)
        }
        cli::ColorChoice::Auto => {}
    }
}

/// `rotation-doctor … | head -1` closes the pipe early, the normal end of a
/// pipeline. Rust ignores SIGPIPE, so the next write would fail and
/// `println!` panic; with the signal's default action the process ends
/// silently, as `ls | head` does.
fn exit_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread exists; it
    // only restores the signal's default disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A connection to a live account: one runtime and one set of clients for
/// every call a command makes.
struct Live {
    runtime: tokio::runtime::Runtime,
    clients: collect::Clients,
    /// Every call of `clients` (`--stats`).
    stats: collect::stats::CallStats,
}

impl Live {
    fn connect(aws: &aws::AwsArgs) -> Result<Live, UserError> {
        if aws.region.len() > 1 {
            return Err(UserError::new(
                "this command takes one --region; `scan` takes several",
            ));
        }
        let runtime = new_runtime()?;
        let config = runtime.block_on(aws::load_config(aws))?;
        let stats = collect::stats::CallStats::default();
        let clients = collect::Clients::new(&config, &stats)?;
        Ok(Live {
            runtime,
            clients,
            stats,
        })
    }

    fn collect(&self, secret: &str, since: std::time::Duration) -> Result<Facts, UserError> {
        if secret.trim().is_empty() {
            return Err(UserError::new("the secret id is empty"));
        }
        if secret.starts_with("arn:") {
            check_secret_arn(secret, Some(self.clients.region()))?;
        }
        self.runtime
            .block_on(collect::collect(&self.clients, secret, since))
    }
}

fn new_runtime() -> Result<tokio::runtime::Runtime, UserError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| UserError::new(format!("cannot start the async runtime: {e}")))
}

/// A secret ARN is `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`;
/// one for another region would be looked up in the wrong place.
fn check_secret_arn(arn: &str, region: Option<&str>) -> Result<(), UserError> {
    let parsed = Arn::parse(arn).filter(|a| {
        a.service == "secretsmanager"
            && a.secret_name().is_some_and(|name| !name.is_empty())
            && aws::region_name_is_valid(a.region)
            && a.account.len() == 12
            && a.account.chars().all(|c| c.is_ascii_digit())
    });
    let Some(parsed) = parsed else {
        return Err(UserError::new(format!(
            "{arn} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
        )));
    };
    match region {
        Some(region) if region != parsed.region => Err(UserError::new(format!(
            "the secret's ARN is in {} but the region is {region}: pass --region {}",
            parsed.region, parsed.region
        ))),
        _ => Ok(()),
    }
}

/// Applies the suppressions and the baseline, saying on stderr what changed.
fn accept(targets: &mut [report::Target], args: &cli::AcceptArgs) -> Result<(), UserError> {
    let config = suppress::Config::load(args.config.as_deref())?;
    let today = chrono::Utc::now().date_naive();
    for note in suppress::apply_config(targets, &config, today) {
        notice::note(note);
    }
    if let Some(path) = &args.baseline {
        notice::note(suppress::apply_baseline(targets, path)?);
    }
    for target in targets {
        target.conclude_again();
    }
    Ok(())
}

fn output_format(requested: Option<OutputFormat>) -> OutputFormat {
    requested.unwrap_or(if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    })
}

/// The terminal's width when stdout is one.
fn terminal_width() -> Option<u16> {
    std::io::stdout()
        .is_terminal()
        .then(|| comfy_table::Table::new().width())
        .flatten()
}

fn print_report(
    targets: &[report::Target],
    output: OutputFormat,
    stats: Option<&report::RunStats>,
    table: report::TableOptions,
) {
    match output {
        OutputFormat::Json => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            // As with print!: a closed pipe ends the process (SIGPIPE, see
            // main), and a full disk has nowhere else to be told.
            let _ = report::write_json(&mut out, targets, stats).and_then(|()| out.flush());
        }
        OutputFormat::Sarif => println!("{}", report::render_sarif(targets)),
        OutputFormat::Junit => print!("{}", report::render_junit(targets)),
        OutputFormat::Markdown => print!("{}", report::render_markdown(targets)),
        OutputFormat::Dot => print!("{}", report::render_dot(targets)),
        OutputFormat::Table if notice::quiet() => print!("{}", report::render_verdicts(targets)),
        OutputFormat::Table => print!("{}", report::render_table(targets, table)),
    }
}

/// How the table looks.
fn table_options(args: &cli::ViewArgs) -> report::TableOptions {
    report::TableOptions {
        width: terminal_width(),
        all: args.all,
        verbose: args.verbose,
    }
}

fn diagnose_command(args: DiagnoseArgs) -> Result<u8, UserError> {
    let started = std::time::Instant::now();
    check_diagnose_flags(&args)?;
    let live = match (&args.snapshot, &args.secret) {
        (None, Some(_)) => Some(Live::connect(&args.report.aws)?),
        _ => None,
    };
    let facts = match (&args.snapshot, &args.secret, &live) {
        (Some(path), _, _) => snapshot::load(path)?,
        (None, Some(secret), Some(live)) => live.collect(secret, args.report.since())?,
        _ => {
            return Err(UserError::new(
                "name a secret to diagnose, or pass --snapshot FILE to diagnose saved facts offline (try --snapshot examples/lab-failed-rotation.json)",
            ))
        }
    };
    // The diagnosis's own calls (a --fix applies and collects again after).
    let stats = live
        .as_ref()
        .filter(|_| args.stats)
        .map(|live| report::RunStats::new(started.elapsed(), &live.stats.snapshot()));
    if let Some(stats) = &stats {
        eprint!("{}", stats.render_table());
    }
    if let Some(path) = &args.save_snapshot {
        snapshot::save(path, &facts)?;
        notice::note(format!("snapshot written to {}", path.display()));
    }
    refuse_unrotated(&facts)?;

    let diagnosis = diagnose(&facts);
    let mut targets = vec![report::Target::new(&facts, diagnosis)];
    accept(&mut targets, &args.report.accept)?;
    let output = output_format(args.report.view.output);
    if args.dry_run || args.fix {
        return fix_flow(&args, live.as_ref(), &facts, targets, output);
    }
    print_report(
        &targets,
        output,
        stats.as_ref(),
        table_options(&args.report.view),
    );
    Ok(args.report.gate.exit_code(&targets))
}

/// Flags that would otherwise be ignored without a word.
fn check_diagnose_flags(args: &DiagnoseArgs) -> Result<(), UserError> {
    if args.dry_run
        && matches!(
            args.report.view.output,
            Some(
                OutputFormat::Sarif
                    | OutputFormat::Junit
                    | OutputFormat::Markdown
                    | OutputFormat::Dot
            )
        )
    {
        return Err(UserError::new(
            "--dry-run writes the fix plan as json (for `rotation-doctor apply`) or as a table; sarif, junit, markdown and dot are report formats: drop --dry-run for those",
        ));
    }
    if let (Some(path), Some(_)) = (&args.snapshot, args.report.since) {
        notice::note(format!(
            "--since does not apply to a snapshot: {} holds the log lines of the window it was saved with",
            path.display()
        ));
    }
    Ok(())
}

/// `--dry-run` shows the plan; `--fix` applies it, then diagnoses again.
fn fix_flow(
    args: &DiagnoseArgs,
    live: Option<&Live>,
    facts: &Facts,
    before: Vec<report::Target>,
    output: OutputFormat,
) -> Result<u8, UserError> {
    let plan = fix::choose(&before[0].findings, args.unsafe_fixes);
    let secret = before[0].secret.name.clone();
    // People read the plan; with a machine format it goes to stderr so
    // that stdout stays one document.
    let mut human: Box<dyn Write> = match output {
        OutputFormat::Table => Box::new(std::io::stdout()),
        _ => Box::new(std::io::stderr()),
    };
    let before_code = args.report.gate.exit_code(&before);
    if args.dry_run {
        match output {
            // check_diagnose_flags refuses --dry-run with the report formats.
            OutputFormat::Json
            | OutputFormat::Sarif
            | OutputFormat::Junit
            | OutputFormat::Markdown
            | OutputFormat::Dot => {
                let file = fix::PlanFile {
                    schema_version: report::REPORT_SCHEMA_VERSION,
                    secret_id: facts.secret_id.clone(),
                    region: facts.region.clone(),
                    plan,
                    names: before[0].names.clone(),
                };
                println!(
                    "{}",
                    serde_json::to_string_pretty(&file).unwrap_or_default()
                );
            }
            OutputFormat::Table => {
                print_report(&before, output, None, table_options(&args.report.view));
                print!("\n{}", fix::render_plan(&plan, &secret, &before[0].names));
            }
        }
        return Ok(before_code);
    }
    let Some(live) = live else {
        return Err(UserError::new(
            "--fix changes a live account: name a secret instead of --snapshot",
        ));
    };
    if output == OutputFormat::Table {
        print_report(&before, output, None, table_options(&args.report.view));
    }
    let _ = writeln!(
        human,
        "\n{}",
        fix::render_plan(&plan, &secret, &before[0].names)
    );
    let mut after = before;
    if !plan.steps.is_empty() {
        if !fix::consent(args.yes, plan.steps.len())? {
            let _ = writeln!(human, "Nothing was changed.");
            return Ok(before_code);
        }
        let mut journal = fix::journal::Journal::new(&facts.secret_id, &facts.region);
        let path = fix::journal::fresh_path(args.journal.clone(), &journal)?;
        let _ = writeln!(human, "Applying (journal: {}):", path.display());
        live.runtime.block_on(fix::apply_plan(
            &live.clients,
            &plan,
            &mut journal,
            &path,
            &mut human,
        ))?;
        let _ = writeln!(human, "Undo with: rotation-doctor undo {}", path.display());
        let facts_after = live.collect(&facts.secret_id, args.report.since())?;
        let diagnosis_after = diagnose(&facts_after);
        let _ = write!(
            human,
            "\n{}",
            fix::render_changes(&after[0].findings, &diagnosis_after.findings)
        );
        after = vec![report::Target::new(&facts_after, diagnosis_after)];
    }
    if output != OutputFormat::Table {
        print_report(&after, output, None, table_options(&args.report.view));
    }
    let mut code = args.report.gate.exit_code(&after);
    if args.rotate {
        let rotated = live.runtime.block_on(rotate::rotate_and_wait(
            &live.clients,
            &facts.secret_id,
            std::time::Duration::from_secs(300),
            notice::show_progress(),
        ))?;
        if !report_rotation(&rotated, &mut human) {
            code = 1;
        }
    }
    Ok(code)
}

/// Says how a rotation ended; true when it succeeded.
fn report_rotation(rotation: &rotate::Rotation, out: &mut dyn Write) -> bool {
    match rotation {
        rotate::Rotation::Succeeded { version_id } => {
            let _ = writeln!(
                out,
                "Rotation succeeded: version {version_id} is AWSCURRENT."
            );
            true
        }
        rotate::Rotation::Failed(reason) => {
            let _ = writeln!(out, "Rotation failed: {reason}");
            false
        }
        rotate::Rotation::StepFailed {
            version_id,
            failure,
        } => {
            let step = failure.step.as_str();
            let _ = match &failure.cause {
                Some(cause) => writeln!(
                    out,
                    "Rotation of version {version_id} failed at {step}: {} ({}).\n  Hint: {}",
                    cause.cause, cause.id, cause.hint
                ),
                None => writeln!(
                    out,
                    "Rotation of version {version_id} failed at {step}: {} (a line the log classifier does not know).",
                    failure.line
                ),
            };
            false
        }
        rotate::Rotation::TimedOut {
            version_id,
            stalled_at,
        } => {
            let stalled = stalled_at
                .map(|step| {
                    format!(
                        " It stopped at {}: no log line says it finished.",
                        step.as_str()
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "Rotation did not finish in time: version {version_id} is still not AWSCURRENT.{stalled}"
            );
            false
        }
    }
}

fn scan_command(args: ScanArgs) -> Result<u8, UserError> {
    let started = std::time::Instant::now();
    let progress = notice::show_progress().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_message("scanning");
        bar
    });
    // Each secret is diagnosed as soon as its facts are in; its report
    // shares what equals another's (the same Lambda's findings and paths).
    let interner = report::Interner::default();
    let options = std::sync::Arc::new(scan::ScanOptions {
        since: args.report.since(),
        concurrency: usize::from(args.concurrency),
        filters: args.filters.clone(),
        progress: progress.clone(),
        evaluate: Box::new(move |facts| {
            interner.intern(report::Target::new(facts, diagnose(facts)))
        }),
    });
    let runtime = new_runtime()?;
    let scans = runtime.block_on(scan::scan(&args.report.aws, &args.accounts, options))?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let per_account: Vec<(Option<String>, _)> = scans
        .iter()
        .map(|scan| (scan.account.clone(), scan.calls.snapshot()))
        .collect();
    let mut targets: Vec<report::Target> =
        scans.into_iter().flat_map(|scan| scan.targets).collect();
    accept(&mut targets, &args.report.accept)?;
    let stats = args
        .stats
        .then(|| report::RunStats::of_accounts(started.elapsed(), &per_account));
    if let Some(stats) = &stats {
        eprint!("{}", stats.render_table());
    }
    let output = output_format(args.report.view.output);
    print_report(
        &targets,
        output,
        stats.as_ref(),
        table_options(&args.report.view),
    );
    if targets.is_empty() {
        notice::note("no rotating secret matched");
    }
    Ok(args.report.gate.exit_code(&targets))
}

fn merge_command(args: cli::MergeArgs) -> Result<u8, UserError> {
    let (targets, notes) = merge::merge(&args.reports)?;
    for note in notes {
        notice::note(note);
    }
    print_report(
        &targets,
        output_format(args.view.output),
        None,
        table_options(&args.view),
    );
    Ok(args.gate.exit_code(&targets))
}

fn rotate_command(args: RotateArgs) -> Result<u8, UserError> {
    let live = Live::connect(&args.aws)?;
    if !args.wait {
        let version_id = live
            .runtime
            .block_on(actions::rotate_secret::start(&live.clients, &args.secret))
            .map_err(|reason| UserError::new(format!("the rotation did not start: {reason}")))?;
        println!("Rotation started: version {version_id}");
        return Ok(0);
    }
    let rotation = live.runtime.block_on(rotate::rotate_and_wait(
        &live.clients,
        &args.secret,
        args.timeout,
        notice::show_progress(),
    ))?;
    if report_rotation(&rotation, &mut std::io::stderr()) {
        return Ok(0);
    }
    let facts = live.collect(&args.secret, std::time::Duration::from_secs(3600))?;
    let mut target = report::Target::new(&facts, diagnose(&facts));
    // A known failed step narrows the diagnosis to what that step needs.
    match rotation.failed_step() {
        Some(step) => {
            eprintln!(
                "Diagnosing what {} needs ({}) for {}:",
                step.as_str(),
                rotate::needs(step),
                args.secret
            );
            target.findings = rotate::findings_for_step(target.findings, step);
            target.conclude_again();
        }
        None => eprintln!("Diagnosing {}:", args.secret),
    }
    print_report(
        &[target],
        output_format(args.output),
        None,
        report::TableOptions {
            width: terminal_width(),
            ..Default::default()
        },
    );
    Ok(1)
}

fn apply_command(args: ApplyArgs) -> Result<u8, UserError> {
    let file = fix::PlanFile::load(&args.plan)?;
    let mut aws = args.aws.clone();
    if aws.region.is_empty() {
        aws.region.push(file.region.clone());
    }
    let live = Live::connect(&aws)?;
    print!(
        "{}",
        fix::render_plan(&file.plan, &file.secret_id, &file.names)
    );
    if file.plan.steps.is_empty() || !fix::consent(args.yes, file.plan.steps.len())? {
        println!("Nothing was changed.");
        return Ok(0);
    }
    let mut journal = fix::journal::Journal::new(&file.secret_id, &file.region);
    let path = fix::journal::fresh_path(args.journal.clone(), &journal)?;
    println!("Applying (journal: {}):", path.display());
    live.runtime.block_on(fix::apply_plan(
        &live.clients,
        &file.plan,
        &mut journal,
        &path,
        &mut std::io::stdout(),
    ))?;
    let complete = journal.entries.iter().all(|e| {
        matches!(
            e.outcome,
            fix::journal::Outcome::Applied | fix::journal::Outcome::AlreadyDone
        )
    });
    Ok(if complete { 0 } else { 1 })
}

fn undo_command(args: UndoArgs) -> Result<u8, UserError> {
    let mut journal = fix::journal::Journal::load(&args.journal)?;
    let pending = journal
        .entries
        .iter()
        .filter(|e| e.undo.is_some() && !e.undone && e.outcome == fix::journal::Outcome::Applied)
        .count();
    if pending == 0 {
        println!("Nothing to undo in {}.", args.journal.display());
        return Ok(0);
    }
    let mut aws = args.aws.clone();
    if aws.region.is_empty() {
        aws.region.push(journal.region.clone());
    }
    let live = Live::connect(&aws)?;
    println!(
        "Undoing {pending} change(s) from {}:",
        args.journal.display()
    );
    if !fix::consent(args.yes, pending)? {
        println!("Nothing was changed.");
        return Ok(0);
    }
    let clean = live.runtime.block_on(fix::undo_journal(
        &live.clients,
        &mut journal,
        &args.journal,
        &mut std::io::stdout(),
    ))?;
    Ok(if clean { 0 } else { 1 })
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

fn can_fix(id: &str) -> bool {
    rules::find(id).is_some_and(|c| c.meta().can_fix)
}

fn list_checks(format: ListFormat) -> String {
    let metas = rules::ALL.iter().map(|c| c.meta());
    match format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = metas
                .map(|m| {
                    serde_json::json!({
                        "id": m.id, "name": m.name, "title": m.title,
                        "severity": m.severity.as_str(), "can_fix": can_fix(m.id),
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
                "| id | name | severity | --fix | what it checks |\n| --- | --- | --- | --- | --- |\n",
            );
            for m in metas {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    m.id,
                    m.name,
                    m.severity.as_str(),
                    if can_fix(m.id) { "yes" } else { "" },
                    m.title
                ));
            }
            out
        }
        ListFormat::Table => {
            let mut table = report::new_table(
                &["Id", "Severity", "Fix", "Name", "Title"],
                terminal_width(),
            );
            for m in metas {
                let fix = if can_fix(m.id) { "yes" } else { "" };
                table.add_row([m.id, m.severity.as_str(), fix, m.name, m.title]);
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
