//! The `tokenkeeper` command: one implementation, run by the native binary (`main.rs`) and by
//! the Python wheel's console script (`tokenkeeper._native._cli`). Every behaviour is the
//! core's; this crate parses arguments and prints. `docs/cli.md` is the reference.
//!
//! Exit statuses: 0 done, 2 configuration or usage error, 1 any other failure, 130 on Ctrl-C.
//! Errors are one line on stderr, `tokenkeeper: …`, and never hold a secret or a token.

mod args;
mod demo;
mod fetch;

use std::ffi::OsString;
use std::fmt;
use std::io::Write;

use clap::error::ErrorKind;
use clap::Parser;

use args::{Cli, Command};
use fetch::Output;

/// Why a command failed.
pub enum Failure {
    /// The CLI's own configuration errors (a missing domain, an unreadable file).
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
    /// The exit status: 2 for configuration errors, 1 for any other.
    pub fn status(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Core(tokenkeeper::Error::Config(_)) => 2,
            Self::Core(_) | Self::Output(_) => 1,
        }
    }
}

/// How `tokenkeeper demo` finds its issuer: the binary's embedded one ([`embedded_demo`]), or
/// the Python wheel's (`tokenkeeper.testing`).
pub type Demo<'a> = &'a dyn Fn() -> Result<u8, Failure>;

/// Runs the command line `args` (the program's name first); the exit status.
pub fn run<I, T>(args: I, demo: Demo<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    // One line and 130 on Ctrl-C. The handler runs on a thread of its own, so it may print; a
    // shared-cache lock dies with the process.
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
        e.status()
    })
}

pub use demo::{demo_with, DemoIssuer};

fn print(line: String) -> Result<u8, Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(Failure::Output)?;
    Ok(0)
}

/// `--help` and `--version` print and exit 0; no command prints the help on stderr, and a
/// usage error is one line; both exit 2.
fn usage(e: clap::Error) -> u8 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return 0;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return 2;
        }
        _ => {}
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("tokenkeeper: error: {first} (see --help)");
    2
}

/// `tokenkeeper demo` against the local issuer embedded in this binary.
#[cfg(feature = "demo")]
pub fn embedded_demo() -> Result<u8, Failure> {
    demo::embedded()
}

/// Without the `demo` feature: a configuration error that says so.
#[cfg(not(feature = "demo"))]
pub fn embedded_demo() -> Result<u8, Failure> {
    Err(Failure::Config(
        "this tokenkeeper was built without the demo (cargo feature \"demo\")".into(),
    ))
}
