//! HTTPS for the issuer: a CA made at start (rcgen), a leaf certificate it signs for the names
//! asked for, and an axum listener that completes each TLS handshake in its own task (a client
//! that rejects the certificate, or stalls, never holds up the others).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer as CaIssuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How the issuer's HTTPS certificate is made.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// The leaf's subject alternative names (DNS names or IP addresses). Default:
    /// `localhost`, `issuer.test` (a name that does not resolve, for proxy tests), `127.0.0.1`.
    pub names: Vec<String>,
    /// A leaf whose validity ended yesterday.
    pub expired: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            names: vec!["localhost".into(), "issuer.test".into(), "127.0.0.1".into()],
            expired: false,
        }
    }
}

/// A test CA and a server configuration with a leaf it signed.
pub(crate) struct Tls {
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

impl Tls {
    pub fn new(options: &TlsOptions) -> Result<Self, String> {
        let err = |e: rcgen::Error| format!("test certificate: {e}");
        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca.distinguished_name
            .push(DnType::CommonName, "tokenkeeper test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
        let ca_issuer = CaIssuer::new(ca, ca_key);

        let leaf_key = KeyPair::generate().map_err(err)?;
        let mut leaf = CertificateParams::new(options.names.clone()).map_err(err)?;
        leaf.distinguished_name
            .push(DnType::CommonName, "tokenkeeper test issuer");
        if options.expired {
            let now = time::OffsetDateTime::now_utc();
            leaf.not_before = now - time::Duration::days(2);
            leaf.not_after = now - time::Duration::days(1);
        }
        let leaf_cert = leaf.signed_by(&leaf_key, &ca_issuer).map_err(err)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone()];
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| format!("TLS server config: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            ca_pem: ca_cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// A listener for `axum::serve` that yields connections whose TLS handshake succeeded.
pub(crate) struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let addr = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        // Ends when the listener (and so the receiver) is dropped.
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = tx.closed() => return,
                    a = tcp.accept() => a,
                };
                let Ok((stream, peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let hs = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
                    if let Ok(Ok(tls)) = hs.await {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(Self { rx, addr })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept task ended: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// The CA's PEM in a file of its own (for `ca_file`), removed with the issuer.
pub(crate) struct CaFile(pub PathBuf);

impl CaFile {
    pub fn write(pem: &str, port: u16) -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "tokenkeeper-issuer-ca-{}-{port}.pem",
            std::process::id()
        ));
        std::fs::write(&path, pem)?;
        Ok(Self(path))
    }
}

impl Drop for CaFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
