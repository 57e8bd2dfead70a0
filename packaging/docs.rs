//! Writes the Debian package's man pages and shell completions, generated
//! from what the programs themselves know, so that none of it is a second
//! copy to keep in step by hand:
//!
//! * `lvsd(8)` and lvsd's completions from lvsd's clap command line
//!   (`src/bin/lvsd.rs`, included here as a module);
//! * `lvsadm(8)` and lvsadm's completions from the help text `lvsadm -h`
//!   prints (`src/bin/lvsadm_help.txt`): lvsadm parses ipvsadm's syntax by
//!   hand, and that text is its one description;
//! * `lvsd.toml(5)` from the README's configuration sections, whose keys
//!   `tests/readme_lists.rs` holds against the keys the configuration
//!   reader knows.
//!
//! `cargo run --example package-docs -- OUTDIR` writes `OUTDIR/man/*.{5,8}`
//! and `OUTDIR/completions/{bash,zsh,fish}/`; `packaging/build-deb.sh` runs
//! it before `cargo deb`.
use clap::{Arg, ArgAction, Command, CommandFactory};
use clap_complete::Shell;
use roff::{bold, roman, Roff};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../src/bin/lvsd.rs"]
mod lvsd_cli;

const LVSADM_HELP: &str = include_str!("../src/bin/lvsadm_help.txt");
const README: &str = include_str!("../README.md");

fn main() {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: package-docs OUTDIR");
        std::process::exit(2);
    };
    let man = out.join("man");
    std::fs::create_dir_all(&man).expect("creating OUTDIR/man");
    let write = |name: &str, text: String| {
        std::fs::write(man.join(name), text).unwrap_or_else(|e| panic!("writing {name}: {e}"))
    };
    write("lvsd.8", lvsd_page(lvsd_cli::Cli::command()));
    write("lvsadm.8", lvsadm_page(LVSADM_HELP));
    write("lvsd.toml.5", config_page(README));
    completions(&out, lvsd_cli::Cli::command());
    completions(&out, lvsadm_command(LVSADM_HELP));
}

/// Bash, zsh and fish completions of `cmd` under `out/completions/`.
fn completions(out: &Path, mut cmd: Command) {
    let name = cmd.get_name().to_string();
    for (shell, dir) in [
        (Shell::Bash, "bash"),
        (Shell::Zsh, "zsh"),
        (Shell::Fish, "fish"),
    ] {
        let dir = out.join("completions").join(dir);
        std::fs::create_dir_all(&dir).expect("creating the completions directory");
        clap_complete::generate_to(shell, &mut cmd, &name, &dir).expect("writing completions");
    }
}

/// A man page section `.SH NAME` followed by `body`.
fn section(page: &mut Roff, name: &str, body: Roff) {
    page.control("SH", [name]);
    page.extend([body]);
}

/// `FILES` and `SEE ALSO`, common to the three pages.
fn files_and_see_also(page: &mut Roff, see_also: &str) {
    let mut files = Roff::new();
    for (path, what) in [
        ("/etc/lvsd/lvsd.toml", "the configuration (lvsd.toml(5))"),
        ("/run/lvsd/lvsd.sock", "the default control socket"),
        ("/usr/share/doc/lvsd/README.md", "the full manual"),
    ] {
        files.control("TP", [] as [&str; 0]);
        files.text([bold(path)]);
        files.text([roman(what)]);
    }
    section(page, "FILES", files);
    section(page, "SEE ALSO", Roff::from(roman(see_also)));
}

/// One argument of a subcommand as its synopsis shows it:
/// `-c|--config CONFIG`, `[--log-format LOG_FORMAT]`, `<FILE>`.
fn arg_synopsis(a: &Arg) -> String {
    let value = a.get_id().as_str().to_uppercase();
    let Some(long) = a.get_long() else {
        return match a.is_required_set() {
            true => format!("<{value}>"),
            false => format!("[{value}]"),
        };
    };
    let flag = match a.get_short() {
        Some(s) => format!("-{s}|--{long}"),
        None => format!("--{long}"),
    };
    match (a.get_action().takes_values(), a.is_required_set()) {
        (false, _) => format!("[{flag}]"),
        (true, true) => format!("{flag} {value}"),
        (true, false) => format!("[{flag} {value}]"),
    }
}

/// `lvsd(8)`: clap_mangen's rendering of the command and of each
/// subcommand's options.
fn lvsd_page(cmd: Command) -> String {
    let cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(cmd.clone()).section("8");
    let mut out = Vec::new();
    man.render_title(&mut out).expect("title");
    man.render_name_section(&mut out).expect("name");
    man.render_synopsis_section(&mut out).expect("synopsis");
    man.render_description_section(&mut out)
        .expect("description");
    man.render_options_section(&mut out).expect("options");
    let mut page = Roff::new();
    page.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands() {
        page.control("TP", [] as [&str; 0]);
        let args: Vec<String> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
            .map(arg_synopsis)
            .collect();
        page.text([
            bold(format!("lvsd {}", sub.get_name())),
            roman(format!(" {}", args.join(" "))),
        ]);
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|s| s.to_string());
        page.text([roman(about.unwrap_or_default())]);
    }
    files_and_see_also(&mut page, "lvsadm(8), lvsd.toml(5), ipvsadm(8)");
    let mut text = String::from_utf8(out).expect("utf-8");
    text.push_str(&page.render());
    text
}

/// `lvsadm(8)`: the help text lvsadm prints, as a man page.
fn lvsadm_page(help: &str) -> String {
    let mut lines = help.lines();
    let about = lines
        .next()
        .and_then(|l| l.strip_prefix("lvsadm: "))
        .unwrap_or("ipvsadm commands against a running lvsd");
    let mut page = Roff::new();
    page.control(
        "TH",
        [
            "LVSADM",
            "8",
            "",
            &format!("lvsd {}", env!("CARGO_PKG_VERSION")),
        ],
    );
    section(
        &mut page,
        "NAME",
        Roff::from(roman(format!("lvsadm - {about}"))),
    );
    let mut synopsis = Roff::new();
    for line in lines.clone() {
        if let Some(args) = line.trim_start().strip_prefix("lvsadm ") {
            let args = args.split_once("   ").map_or(args, |(a, _)| a).trim_end();
            synopsis.text([bold("lvsadm"), roman(format!(" {args}"))]);
            synopsis.control("br", [] as [&str; 0]);
        }
    }
    section(&mut page, "SYNOPSIS", synopsis);
    let mut desc = Roff::new();
    desc.text([roman(
        "lvsadm speaks ipvsadm 1.31's command line and prints its output byte for byte, \
         against a running lvsd(8) over its control socket; ipvsadm(8) describes each \
         command and option. It adds lvsd's own verbs (reload, save-config, show, explain).",
    )]);
    desc.control("PP", [] as [&str; 0]);
    desc.control("nf", [] as [&str; 0]);
    desc.text([roman(lines.collect::<Vec<_>>().join("\n"))]);
    desc.control("fi", [] as [&str; 0]);
    section(&mut page, "DESCRIPTION", desc);
    let mut env = Roff::new();
    env.control("TP", [] as [&str; 0]);
    env.text([bold("LVSD_SOCKET")]);
    env.text([roman("the control socket, when --socket is not given")]);
    section(&mut page, "ENVIRONMENT", env);
    files_and_see_also(&mut page, "lvsd(8), lvsd.toml(5), ipvsadm(8)");
    page.render()
}

/// Every option word of lvsadm's help text, grouped as it spells them
/// (`--tcp-service|-t` is one option, `-A|E` two).
fn lvsadm_options(help: &str) -> Vec<(Option<String>, Option<char>)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for word in help.split_whitespace() {
        let word = word.trim_matches(|c| c == '[' || c == ']' || c == ',');
        if !word.starts_with('-') || word.len() < 2 {
            continue;
        }
        let mut long = None;
        let mut shorts = Vec::new();
        for part in word.split('|') {
            if let Some(l) = part.strip_prefix("--") {
                long = Some(l.to_string());
            } else {
                let letter = part.trim_start_matches('-');
                if letter.len() == 1 && letter.chars().all(|c| c.is_ascii_alphabetic()) {
                    shorts.extend(letter.chars());
                }
            }
        }
        let groups: Vec<(Option<String>, Option<char>)> = match (long, shorts.as_slice()) {
            (Some(l), [s]) => vec![(Some(l), Some(*s))],
            (Some(l), []) => vec![(Some(l), None)],
            (l, s) => l
                .map(|l| (Some(l), None))
                .into_iter()
                .chain(s.iter().map(|c| (None, Some(*c))))
                .collect(),
        };
        for g in groups {
            if seen.insert(g.clone()) {
                out.push(g);
            }
        }
    }
    out
}

/// clap without its `string` feature takes `&'static str` names; this
/// one-shot program keeps the few it builds for its whole run.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Each option of `text` as a flag of `cmd`.
fn with_options(mut cmd: Command, text: &str) -> Command {
    for (long, short) in lvsadm_options(text) {
        let id = long
            .clone()
            .unwrap_or_else(|| format!("short-{}", short.unwrap_or('?')));
        let mut arg = Arg::new(leak(id)).action(ArgAction::SetTrue);
        if let Some(l) = long {
            arg = arg.long(leak(l));
        }
        if let Some(s) = short {
            arg = arg.short(s);
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

/// The words after `lvsadm` on a help line naming one of lvsd's verbs.
fn verb_line(l: &str) -> Option<&str> {
    l.strip_prefix("  lvsadm ")
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()))
}

/// A clap command describing lvsadm's words for the completion
/// generators: every ipvsadm option of its help text, and lvsd's verbs
/// (`lvsadm reload ...` lines) each with the options of its lines.
fn lvsadm_command(help: &str) -> Command {
    let ipvsadm: Vec<&str> = help.lines().filter(|l| verb_line(l).is_none()).collect();
    let about = help.lines().next().unwrap_or_default().to_string();
    let mut cmd = Command::new("lvsadm")
        .about(about)
        .disable_help_flag(true)
        .disable_version_flag(true);
    cmd = with_options(cmd, &ipvsadm.join("\n"));
    let mut verbs: Vec<(String, String, String)> = Vec::new();
    for v in help.lines().filter_map(verb_line) {
        let name = v.split_whitespace().next().unwrap_or_default().to_string();
        let (args, about) = v.split_once("   ").unwrap_or((v, ""));
        match verbs.iter_mut().find(|(n, ..)| *n == name) {
            Some((_, a, words)) => {
                a.push_str(about.trim());
                words.push_str(&format!(" {args}"));
            }
            None => verbs.push((name, about.trim().to_string(), args.to_string())),
        }
    }
    for (name, about, words) in verbs {
        let sub = Command::new(leak(name)).about(about);
        cmd = cmd.subcommand(with_options(sub, &words));
    }
    cmd
}

/// The README's body under `heading`, up to the next heading of the same
/// or a higher level (sub-sections included).
fn readme_section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no section '{heading}'"))
        + heading.len()
        + 2;
    let rest = &readme[start..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// Markdown paragraphs and fenced code blocks as roff; inline code spans
/// lose their backticks.
fn markdown(md: &str) -> Roff {
    let mut out = Roff::new();
    let mut para = Vec::new();
    let mut code: Option<Vec<&str>> = None;
    let flush = |out: &mut Roff, para: &mut Vec<&str>| {
        if !para.is_empty() {
            out.control("PP", [] as [&str; 0]);
            out.text([roman(para.join(" ").replace('`', ""))]);
            para.clear();
        }
    };
    for line in md.lines() {
        if line.starts_with("```") {
            match code.take() {
                Some(block) => {
                    out.control("PP", [] as [&str; 0]);
                    out.control("nf", [] as [&str; 0]);
                    out.text([roman(block.join("\n"))]);
                    out.control("fi", [] as [&str; 0]);
                }
                None => {
                    flush(&mut out, &mut para);
                    code = Some(Vec::new());
                }
            }
        } else if let Some(block) = code.as_mut() {
            block.push(line);
        } else if line.trim().is_empty() {
            flush(&mut out, &mut para);
        } else {
            para.push(line.trim());
        }
    }
    flush(&mut out, &mut para);
    out
}

/// The first fenced code block of `md`, with its fences.
fn first_block(md: &str) -> &str {
    let start = md.find("```").expect("a code block");
    let end = md[start + 3..].find("\n```").expect("a closed code block") + start + 7;
    &md[start..end]
}

/// `lvsd.toml(5)`: the README's configuration reference, and the TOML of
/// its health-check and active/backup sections.
fn config_page(readme: &str) -> String {
    let mut page = Roff::new();
    page.control(
        "TH",
        [
            "LVSD.TOML",
            "5",
            "",
            &format!("lvsd {}", env!("CARGO_PKG_VERSION")),
        ],
    );
    section(
        &mut page,
        "NAME",
        Roff::from(roman("lvsd.toml - configuration file of lvsd(8)")),
    );
    section(
        &mut page,
        "SYNOPSIS",
        Roff::from(bold("/etc/lvsd/lvsd.toml")),
    );
    let reference = readme_section(readme, "## Configuration reference");
    section(&mut page, "DESCRIPTION", markdown(reference));
    let health = readme_section(readme, "## Health checks and the kernel exception path");
    section(&mut page, "HEALTH CHECKS", markdown(first_block(health)));
    let ha = readme_section(readme, "## Active/backup pair");
    section(&mut page, "ACTIVE/BACKUP PAIR", markdown(first_block(ha)));
    files_and_see_also(&mut page, "lvsd(8), lvsadm(8)");
    page.render()
}
