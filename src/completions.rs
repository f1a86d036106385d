//! `completions` and `man`: the shell completion scripts and the man page,
//! generated from the clap definitions in cli.rs so they never drift from
//! the real command line.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;

use crate::cli::{Cli, CompletionShell};
use crate::error::UserError;

/// The completion script for `shell`.
pub fn completion_script(shell: CompletionShell) -> String {
    let mut cmd = Cli::command();
    let bin_name = cmd.get_name().to_owned();
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
        CompletionShell::Powershell => Shell::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, &bin_name, &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        Shell::Bash => fix_bash_subcommand_labels(&script, &bin_name),
        _ => script,
    }
}

/// clap_complete's bash script walks the words typed and sets `cmd` to
/// `rotation__doctor__subcmd__diagnose` (the bin name's `-` becomes `__`),
/// but labels the case that completes that subcommand's options
/// `rotation__subcmd__doctor__subcmd__diagnose` (the bin name's `-` becomes
/// the subcommand separator). No label matches, so nothing after a
/// subcommand completes. Upstream bug, open in clap_complete 4.6.12 (the
/// newest release): https://github.com/clap-rs/clap/issues/6421. This
/// relabels those cases the way `cmd` is spelled; once clap_complete spells
/// them alike, the broken prefix no longer occurs and this changes nothing.
fn fix_bash_subcommand_labels(script: &str, bin_name: &str) -> String {
    const SUBCOMMAND_SEPARATOR: &str = "__subcmd__";
    let broken_prefix = format!(
        "{}{SUBCOMMAND_SEPARATOR}",
        bin_name.replace('-', SUBCOMMAND_SEPARATOR)
    );
    let cmd_prefix = format!("{}{SUBCOMMAND_SEPARATOR}", bin_name.replace('-', "__"));
    script.replace(&broken_prefix, &cmd_prefix)
}

/// The man page: the top-level page, then a COMMANDS section with every
/// subcommand's description, synopsis and options, so that one file
/// (`man ./rotation-doctor.1`) documents the whole command line.
pub fn man_page() -> Result<String, UserError> {
    let page = render_man_page()
        .map_err(|e| UserError::new(format!("could not render the man page: {e}")))?;
    Ok(String::from_utf8_lossy(&page).into_owned())
}

fn render_man_page() -> std::io::Result<Vec<u8>> {
    // `help` is clap's own subcommand, nothing to document.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Gives every subcommand its full name ("rotation-doctor diagnose") for
    // the synopses.
    cmd.build();

    let mut page = Vec::new();
    let top = Man::new(cmd.clone());
    top.render_title(&mut page)?;
    top.render_name_section(&mut page)?;
    top.render_synopsis_section(&mut page)?;
    top.render_description_section(&mut page)?;
    top.render_options_section(&mut page)?;

    // The top-level options (`--color`) are global: documented once above
    // rather than again under every command.
    let top_level_globals: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .map(|arg| arg.get_id().clone())
        .collect();
    let mut heading = Roff::new();
    heading
        .control("SH", ["COMMANDS"])
        .text([roman("The options above work with every command.")]);
    heading.to_writer(&mut page)?;
    for sub in subcommands(&cmd) {
        let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name());
        let mut sub_heading = Roff::new();
        sub_heading.control("SS", [name]);
        sub_heading.to_writer(&mut page)?;
        let sub = sub.clone().mut_args(|arg| {
            if top_level_globals.contains(arg.get_id()) {
                arg.hide(true)
            } else {
                arg
            }
        });
        let man = Man::new(sub);
        // clap_mangen renders each of these as a whole `.SH` section; here
        // they are parts of the subcommand's `.SS`, so their headings go.
        for render in [
            Man::render_description_section,
            Man::render_synopsis_section,
            Man::render_options_section,
        ] {
            let mut part = Vec::new();
            render(&man, &mut part)?;
            page.write_all(&without_section_headings(&part))?;
            let mut gap = Roff::new();
            gap.control("PP", []);
            gap.to_writer(&mut page)?;
        }
    }

    top.render_version_section(&mut page)?;
    Ok(page)
}

/// Every visible subcommand, depth first, each before its own subcommands.
fn subcommands(cmd: &clap::Command) -> Vec<&clap::Command> {
    let mut all = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        all.push(sub);
        all.extend(subcommands(sub));
    }
    all
}

fn without_section_headings(roff: &[u8]) -> Vec<u8> {
    roff.split_inclusive(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b".SH "))
        .flatten()
        .copied()
        .collect()
}
