//! `tokenkeeper-issuer [--port N] [--tls]`: starts the local issuer, prints its fixture as one
//! JSON line on stdout, and serves until stdin closes, SIGTERM or Ctrl-C. With `--tls` it
//! serves HTTPS with a certificate from a CA made at start: the fixture's `ca_file` is that
//! CA's PEM (removed when the issuer stops).

use tokio::io::AsyncReadExt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut port = 0u16;
    let mut tls = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = match args.next().and_then(|p| p.parse().ok()) {
                    Some(p) => p,
                    None => fail("--port needs a number"),
                }
            }
            "--tls" => tls = true,
            "-h" | "--help" => {
                println!("usage: tokenkeeper-issuer [--port N] [--tls]\nPrints the fixture (URL, clients, secrets, APIs; with --tls the test CA's ca_file) as JSON, then serves until stdin closes.");
                return;
            }
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    let started = if tls {
        tokenkeeper_issuer::Issuer::start_tls_on(port, Default::default()).await
    } else {
        tokenkeeper_issuer::Issuer::start_on(port).await
    };
    let issuer = match started {
        Ok(i) => i,
        Err(e) => fail(&format!("cannot listen on 127.0.0.1:{port}: {e}")),
    };
    println!(
        "{}",
        serde_json::to_string(&issuer.fixture).expect("fixture serializes")
    );
    let stdin_closed = async {
        let mut buf = [0u8; 64];
        let mut stdin = tokio::io::stdin();
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = stdin_closed => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(issuer);
    // Not a return: the runtime's shutdown would wait for the blocking stdin read, which never
    // ends while another process (started later by the same shell) holds the fifo open.
    std::process::exit(0);
}

fn fail(msg: &str) -> ! {
    eprintln!("tokenkeeper-issuer: {msg}");
    std::process::exit(2)
}
