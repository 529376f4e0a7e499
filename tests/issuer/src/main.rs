//! `tokenkeeper-issuer [--port N]`: starts the local issuer, prints its fixture as one JSON line
//! on stdout, and serves until stdin closes, SIGTERM or Ctrl-C.

use tokio::io::AsyncReadExt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = match args.next().and_then(|p| p.parse().ok()) {
                    Some(p) => p,
                    None => fail("--port needs a number"),
                }
            }
            "-h" | "--help" => {
                println!("usage: tokenkeeper-issuer [--port N]\nPrints the fixture (URL, clients, secrets, APIs) as JSON, then serves until stdin closes.");
                return;
            }
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    let issuer = match tokenkeeper_issuer::Issuer::start_on(port).await {
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
}

fn fail(msg: &str) -> ! {
    eprintln!("tokenkeeper-issuer: {msg}");
    std::process::exit(2)
}
