//! `rotation-doctor completions SHELL` and `rotation-doctor man`. The bash
//! script is loaded into a real bash and asked to complete; zsh's and fish's
//! too when those shells are installed (otherwise their scripts are only
//! checked to name every subcommand). The man page is rendered by groff when
//! groff is installed, and must render without a warning.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::{describe, exit_code, run_doctor, run_with_watchdog, stderr_of, stdout_of};

/// How long one shell gets to load a script and complete one line.
const SHELL_WATCHDOG: Duration = Duration::from_secs(60);

/// The output of `rotation-doctor completions SHELL`: exit 0, a script.
fn completion_script(shell: &str) -> String {
    let out = run_doctor(&["completions", shell]);
    assert_eq!(exit_code(&out), 0, "{}", describe(&out));
    assert!(stderr_of(&out).is_empty(), "{}", describe(&out));
    let script = stdout_of(&out);
    assert!(
        script.lines().count() > 10,
        "the {shell} script is too short:\n{script}"
    );
    script
}

/// The subcommands `rotation-doctor --help` lists, clap's `help` aside: a
/// new subcommand is then checked here without touching this file.
fn subcommands() -> Vec<String> {
    let out = run_doctor(&["--help"]);
    assert_eq!(exit_code(&out), 0, "{}", describe(&out));
    let help = stdout_of(&out);
    let names: Vec<String> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        // A continuation of a long description is indented further.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    for expected in ["diagnose", "scan", "completions", "man"] {
        assert!(
            names.iter().any(|name| name == expected),
            "no {expected} among the subcommands {names:?} of:\n{help}"
        );
    }
    names
}

/// Whether `program --version` runs on this machine.
fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// `program` with only PATH from our environment and HOME in `home`.
fn shell_command(program: &str, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .current_dir(home);
    cmd
}

/// The non-empty lines of a shell's stdout; the shell must exit 0.
fn candidates(out: &Output) -> Vec<String> {
    assert_eq!(exit_code(out), 0, "{}", describe(out));
    let mut lines: Vec<String> = stdout_of(out)
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

fn sorted(words: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    words.sort();
    words
}

/// Sources the script, then calls the function it registered for
/// `rotation-doctor` the way bash's programmable completion does (`$1` the
/// command, `$2` the word being completed, `$3` the word before it) and
/// prints COMPREPLY.
const BASH_COMPLETE: &str = r#"
source "$1" || exit 3
shift
spec=$(complete -p rotation-doctor) || exit 4
function=${spec#*-F }
function=${function%% *}
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
"$function" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;

/// What bash offers for the last of `words` (already typed: the others).
fn bash_complete(script: &Path, home: &Path, words: &[&str]) -> Vec<String> {
    let mut cmd = shell_command("bash", home);
    cmd.args(["--noprofile", "--norc", "-c", BASH_COMPLETE, "bash"])
        .arg(script)
        .args(words);
    candidates(&run_with_watchdog(cmd, SHELL_WATCHDOG))
}

#[test]
fn bash_completes_subcommands_their_options_and_values() {
    let home = tempfile::tempdir().expect("tempdir");
    let script = home.path().join("rotation-doctor.bash");
    std::fs::write(&script, completion_script("bash")).expect("write the script");
    let complete = |words: &[&str]| bash_complete(&script, home.path(), words);

    assert_eq!(complete(&["rotation-doctor", "diag"]), ["diagnose"]);
    let all = complete(&["rotation-doctor", ""]);
    for name in subcommands() {
        assert!(all.contains(&name), "{name} is not offered: {all:?}");
    }
    // After a subcommand: its positional's values, its options, an option's
    // values. This is what clap_complete's own bash script gets wrong for a
    // hyphenated binary name.
    assert_eq!(complete(&["rotation-doctor", "completions", "z"]), ["zsh"]);
    assert_eq!(
        complete(&["rotation-doctor", "diagnose", "--out"]),
        ["--output"]
    );
    assert_eq!(
        complete(&["rotation-doctor", "diagnose", "--fail-on", ""]),
        sorted(&["critical", "high", "medium", "low", "info"])
    );
    assert_eq!(
        complete(&["rotation-doctor", "scan", "--output", "j"]),
        sorted(&["json", "junit"])
    );
}

/// Sourced by an interactive zsh in a pseudo-terminal: loads compinit and the
/// script, and binds Tab to a completion widget that appends every match it
/// adds to $CAPTURE, then creates $CAPTURE.done. compadd calls that only
/// compute matches for a caller (-O, -A, -D) are passed through as they are.
const ZSH_SETUP: &str = r#"
PS1=''
autoload -Uz compinit && compinit -u -d "$CAPTURE.zcompdump"
source "$SCRIPT"
compadd() {
  local arg
  for arg in "$@"; do
    [[ $arg == (-|--) ]] && break
    if [[ $arg == -[[:alpha:]]#[OAD]* ]]; then
      builtin compadd "$@"
      return
    fi
  done
  local -a hits
  builtin compadd -O hits "$@"
  print -rl -- $hits >> "$CAPTURE"
  builtin compadd "$@"
}
capture-complete() { _main_complete; : > "$CAPTURE.done" }
zle -C capture-complete complete-word capture-complete
bindkey '^I' capture-complete
"#;

/// Types `$1` and Tab into an interactive zsh (zsh/zpty) set up by
/// ZSH_SETUP, waits for the widget to finish and prints what it captured.
const ZSH_DRIVE: &str = r#"
zmodload zsh/zpty || exit 3
zpty completing zsh -f -i
zpty -w completing "source ${(q)SETUP}"
zpty -w -n completing "$1"$'\t'
for i in {1..300}; do [[ -e $CAPTURE.done ]] && break; sleep 0.1; done
zpty -d completing
[[ -e $CAPTURE.done ]] || exit 4
[[ -e $CAPTURE ]] && cat "$CAPTURE"
exit 0
"#;

/// What zsh offers at the end of `line`.
fn zsh_complete(script: &Path, home: &Path, line: &str) -> Vec<String> {
    let setup = home.join("setup.zsh");
    std::fs::write(&setup, ZSH_SETUP).expect("write the setup");
    let capture = home.join("capture");
    let _ = std::fs::remove_file(&capture);
    let _ = std::fs::remove_file(home.join("capture.done"));
    let mut cmd = shell_command("zsh", home);
    cmd.env("SCRIPT", script)
        .env("SETUP", &setup)
        .env("CAPTURE", &capture)
        .args(["-f", "-c", ZSH_DRIVE, "zsh", line]);
    candidates(&run_with_watchdog(cmd, SHELL_WATCHDOG))
}

#[test]
fn zsh_script_names_every_subcommand_and_completes_in_zsh_if_installed() {
    let script_text = completion_script("zsh");
    assert!(script_text.starts_with("#compdef rotation-doctor"));
    for name in subcommands() {
        // `_rotation-doctor_commands` describes each as 'NAME:about'.
        assert!(
            script_text.contains(&format!("'{name}:")),
            "the zsh script does not name {name}"
        );
    }
    if !installed("zsh") {
        eprintln!("zsh is not installed: the zsh script was only checked to name every subcommand");
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let script = home.path().join("_rotation-doctor");
    std::fs::write(&script, script_text).expect("write the script");
    let complete = |line: &str| zsh_complete(&script, home.path(), line);

    assert_eq!(complete("rotation-doctor diag"), ["diagnose"]);
    assert_eq!(complete("rotation-doctor completions z"), ["zsh"]);
    assert_eq!(complete("rotation-doctor diagnose --out"), ["--output"]);
    assert_eq!(
        complete("rotation-doctor diagnose --fail-on "),
        sorted(&["critical", "high", "medium", "low", "info"])
    );
}

/// What fish offers at the end of `line` (`complete --do-complete`), without
/// the descriptions.
fn fish_complete(script: &Path, home: &Path, line: &str) -> Vec<String> {
    let mut cmd = shell_command("fish", home);
    cmd.args([
        "--no-config",
        "-c",
        "source $argv[1]; and complete --do-complete $argv[2]",
    ])
    .arg(script)
    .arg(line);
    candidates(&run_with_watchdog(cmd, SHELL_WATCHDOG))
        .into_iter()
        .map(|candidate| candidate.split('\t').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn fish_script_names_every_subcommand_and_completes_in_fish_if_installed() {
    let script_text = completion_script("fish");
    for name in subcommands() {
        assert!(
            script_text.contains(&format!("-a \"{name}\"")),
            "the fish script does not name {name}"
        );
    }
    if !installed("fish") {
        eprintln!(
            "fish is not installed: the fish script was only checked to name every subcommand"
        );
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let script = home.path().join("rotation-doctor.fish");
    std::fs::write(&script, script_text).expect("write the script");
    let complete = |line: &str| fish_complete(&script, home.path(), line);

    assert_eq!(complete("rotation-doctor diag"), ["diagnose"]);
    assert_eq!(complete("rotation-doctor diagnose --out"), ["--output"]);
    assert_eq!(
        complete("rotation-doctor diagnose --fail-on "),
        sorted(&["critical", "high", "medium", "low", "info"])
    );
    // No `completions z` here: clap_complete's fish generator completes
    // options and subcommands, not positional values (its documented limit).
}

#[test]
fn powershell_script_names_every_subcommand() {
    let script = completion_script("powershell");
    assert!(script.contains("Register-ArgumentCompleter -Native -CommandName 'rotation-doctor'"));
    for name in subcommands() {
        assert!(
            script.contains(&format!("'rotation-doctor;{name}'")),
            "the PowerShell script does not name {name}"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = run_doctor(&["completions", "tcsh"]);
    common::assert_no_panic(&out);
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
    assert!(stdout_of(&out).is_empty(), "{}", describe(&out));
    let err = stderr_of(&out);
    assert!(
        err.starts_with("error: invalid value 'tcsh' for '<SHELL>'"),
        "{}",
        describe(&out)
    );
    assert!(
        err.contains("[possible values: bash, zsh, fish, powershell]"),
        "{}",
        describe(&out)
    );
}

#[test]
fn man_page_documents_every_subcommand_and_renders_without_warnings() {
    let out = run_doctor(&["man"]);
    assert_eq!(exit_code(&out), 0, "{}", describe(&out));
    assert!(stderr_of(&out).is_empty(), "{}", describe(&out));
    let page = stdout_of(&out);
    assert!(
        page.starts_with(".TH") || page.starts_with(".ie"),
        "not roff:\n{page}"
    );
    assert!(
        page.contains("\n.TH rotation-doctor 1"),
        "no title:\n{page}"
    );
    let subcommands = subcommands();
    for name in &subcommands {
        assert!(
            page.contains(&format!(".SS \"rotation-doctor {name}\"")),
            "no section for {name}:\n{page}"
        );
    }
    assert!(page.contains(r"\-\-fail\-on"), "no --fail-on:\n{page}");

    if !installed("groff") {
        eprintln!("groff is not installed: the man page was not rendered");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rotation-doctor.1");
    std::fs::write(&file, &page).expect("write the page");
    // -ww: every warning; -rHY=0: no hyphenation, so words stay whole;
    // -P-cbou: plain text, no overstriking.
    let mut groff = Command::new("groff");
    groff
        .args(["-man", "-Tutf8", "-ww", "-rHY=0", "-P-cbou"])
        .arg(&file);
    let rendered = run_with_watchdog(groff, SHELL_WATCHDOG);
    assert_eq!(exit_code(&rendered), 0, "{}", describe(&rendered));
    assert!(
        stderr_of(&rendered).is_empty(),
        "groff warned:\n{}",
        describe(&rendered)
    );
    let text = stdout_of(&rendered);
    for heading in ["NAME", "SYNOPSIS", "OPTIONS", "COMMANDS"] {
        assert!(
            text.lines().any(|line| line == heading),
            "no {heading}:\n{text}"
        );
    }
    for name in &subcommands {
        assert!(
            text.lines()
                .any(|line| line.trim() == format!("rotation-doctor {name}")),
            "no heading for {name}:\n{text}"
        );
    }
    assert!(
        text.contains("--fail-on <SEVERITY>"),
        "no --fail-on:\n{text}"
    );
}
