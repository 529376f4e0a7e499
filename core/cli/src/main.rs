//! The native `tokenkeeper` binary: the CLI library with the embedded demo issuer.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(tokenkeeper_cli::run(
        std::env::args_os(),
        &tokenkeeper_cli::embedded_demo,
    ))
}
