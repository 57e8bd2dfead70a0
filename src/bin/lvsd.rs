//! The `lvsd` command: `check` a configuration, `run` the director, or run
//! the `demo` topology.
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
