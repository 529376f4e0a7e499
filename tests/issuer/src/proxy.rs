//! A small HTTP `CONNECT` proxy on loopback, for the proxy tests: it counts every connection
//! and every `CONNECT`, and tunnels `host:port` to the address it maps that name to (so a name
//! that does not resolve, like `issuer.test`, reaches a local issuer). Anything but a mapped
//! `CONNECT` is answered 502.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    connects: AtomicU64,
}

/// A running proxy; stops accepting when dropped.
pub struct ConnectProxy {
    addr: SocketAddr,
    counts: Arc<Counts>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ConnectProxy {
    /// Starts on an ephemeral loopback port, on the current tokio runtime. `routes` maps
    /// `host:port` (as the client sends it in `CONNECT`) to where the tunnel goes.
    pub async fn start(routes: HashMap<String, SocketAddr>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let (c, routes) = (counts.clone(), Arc::new(routes));
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = &mut rx => return,
                    a = listener.accept() => a,
                };
                let Ok((stream, _)) = accepted else { continue };
                c.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, c.clone(), routes.clone()));
            }
        });
        Ok(Self {
            addr,
            counts,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT`: the value for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// TCP connections accepted, whatever they asked.
    pub fn connections(&self) -> u64 {
        self.counts.connections.load(Ordering::SeqCst)
    }

    /// `CONNECT` requests tunnelled.
    pub fn connects(&self) -> u64 {
        self.counts.connects.load(Ordering::SeqCst)
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn serve(
    mut client: TcpStream,
    counts: Arc<Counts>,
    routes: Arc<HashMap<String, SocketAddr>>,
) {
    let Ok(Ok(head)) = tokio::time::timeout(Duration::from_secs(10), read_head(&mut client)).await
    else {
        return;
    };
    let mut words = head.split_whitespace();
    let target = match (words.next(), words.next()) {
        (Some(m), Some(t)) if m.eq_ignore_ascii_case("CONNECT") => routes.get(t).copied(),
        _ => None,
    };
    let Some(target) = target else {
        let _ = client
            .write_all(
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    counts.connects.fetch_add(1, Ordering::SeqCst);
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// The request head, up to the blank line (at most 8 KiB).
async fn read_head(s: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 8192 || s.read(&mut byte).await? == 0 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        buf.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
