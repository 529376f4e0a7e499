//! The `tokenkeeper` command, native: the Python CLI's commands, flags, environment, output
//! and exit statuses (one test suite, `python/tests/test_cli.py`, runs both). Every behaviour
//! is the core's; this crate parses arguments and prints.
//!
//! Exit statuses: 0 done, 2 configuration or usage error, 1 any other failure, 130 on Ctrl-C.
//! Errors are one line on stderr, `tokenkeeper: …`, and never hold a secret or a token.

mod args;
#[cfg(feature = "demo")]
mod demo;
mod fetch;
mod pytext;

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use args::{Cli, Command};
use fetch::Output;

/// Why a command failed.
pub enum Failure {
    /// The CLI's own configuration errors (a missing domain, an unreadable file), in the
    /// Python CLI's words.
    Config(String),
    Core(tokenkeeper::Error),
    /// stdout is closed or full (a pipe whose reader left).
    Output(std::io::Error),
}

impl From<tokenkeeper::Error> for Failure {
    fn from(e: tokenkeeper::Error) -> Self {
        Self::Core(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) => f.write_str(m),
            Self::Core(e) => write!(f, "{e}"),
            Self::Output(e) => write!(f, "cannot write the output: {e}"),
        }
    }
}

impl Failure {
    fn status(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Core(tokenkeeper::Error::Config(_)) => 2,
            Self::Core(_) | Self::Output(_) => 1,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    // As the Python CLI on KeyboardInterrupt. The handler runs on a thread of its own, so it
    // may print; a shared-cache lock dies with the process.
    let _ = ctrlc::set_handler(|| {
        eprintln!("tokenkeeper: interrupted");
        std::process::exit(130);
    });
    let result = match &cli.command {
        Command::Token { common, json } => {
            let output = if *json {
                Output::Json
            } else {
                Output::AccessToken
            };
            fetch::run(common, output).and_then(print)
        }
        Command::Header { common } => fetch::run(common, Output::Header).and_then(print),
        Command::Demo => demo(),
    };
    result.unwrap_or_else(|e| {
        eprintln!("tokenkeeper: {e}");
        ExitCode::from(e.status())
    })
}

fn print(line: String) -> Result<ExitCode, Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(Failure::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// `--help` and `--version` print and exit 0; no command prints the help on stderr, and a
/// usage error is one line; both exit 2.
fn usage(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("tokenkeeper: error: {first} (see --help)");
    ExitCode::from(2)
}

#[cfg(feature = "demo")]
fn demo() -> Result<ExitCode, Failure> {
    demo::run()
}

#[cfg(not(feature = "demo"))]
fn demo() -> Result<ExitCode, Failure> {
    Err(Failure::Config(
        "this tokenkeeper was built without the demo (cargo feature \"demo\")".into(),
    ))
}
