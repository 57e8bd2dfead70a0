//! The `lvsd` command: `check` a configuration, `run` the director, run
//! the `demo` topology, or `import` a keepalived/ldirectord/Piranha file.
use clap::{Parser, Subcommand, ValueEnum};
use lvsd::config::{self, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lvsd",
    version,
    about = "Linux Virtual Server director on DPDK"
)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The formats `lvsd import` reads.
#[derive(Clone, Copy, ValueEnum)]
enum Source {
    /// keepalived.conf (its `include` files followed)
    Keepalived,
    /// ldirectord.cf
    Ldirectord,
    /// Piranha's lvs.cf
    Piranha,
}

#[derive(Subcommand)]
enum Cmd {
    /// Validate a configuration file: prints `ok`, or every error with its key and line.
    Check {
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Run the director.
    Run {
        #[arg(short, long)]
        config: PathBuf,
        /// Log format (overrides `[log] format`).
        #[arg(long, value_enum)]
        log_format: Option<Format>,
    },
    /// Build a demo topology in network namespaces, run lvsd on it with the
    /// embedded demo configuration, show what happens, tear it all down.
    Demo,
    /// Translate a keepalived, ldirectord or Piranha configuration into an
    /// lvsd configuration on stdout (it passes `lvsd check`); everything not
    /// carried is warned about on stderr with its source line.
    Import {
        #[arg(value_enum)]
        format: Source,
        file: PathBuf,
    },
}

fn init_logging(level: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check { config } => match config::load_file(&config) {
            Ok(_) => {
                println!("ok");
                ExitCode::SUCCESS
            }
            Err(errs) => {
                print!("{errs}");
                if !errs.to_string().ends_with('\n') {
                    println!();
                }
                ExitCode::from(1)
            }
        },
        Cmd::Run { config, log_format } => {
            let model = match config::load_file(&config) {
                Ok(m) => m,
                Err(errs) => {
                    eprintln!("{errs}");
                    return ExitCode::from(1);
                }
            };
            let json = match log_format {
                Some(Format::Json) => true,
                Some(Format::Text) => false,
                None => model.log.format == LogFormat::Json,
            };
            init_logging(&model.log.level, json);
            match lvsd::app::run(config.clone(), model) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) => {
                    tracing::error!("{e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Cmd::Import { format, file } => import(format, &file),
        Cmd::Demo => {
            init_logging("info", false);
            match lvsd::demo::run() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("demo failed: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// `lvsd import FORMAT FILE`: the configuration on stdout, warnings and
/// notes on stderr; exit 1 when the file cannot be read or translated.
fn import(format: Source, file: &std::path::Path) -> ExitCode {
    use lvsd::import::{import_file, Format};
    let format = match format {
        Source::Keepalived => Format::Keepalived,
        Source::Ldirectord => Format::Ldirectord,
        Source::Piranha => Format::Piranha,
    };
    match import_file(format, file) {
        Ok(out) => {
            print!("{}", out.toml);
            for w in &out.warnings {
                eprintln!("{w}");
            }
            for n in &out.notes {
                eprintln!("note: {n}");
            }
            eprintln!(
                "{} warning(s): each names a source line lvsd does not carry (or carries differently)",
                out.warnings.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
