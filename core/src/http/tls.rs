//! The TLS side of a connection policy: the system's roots plus the `ca_file` roots, verified
//! with an explicit ring provider, so that building a client installs no process-wide rustls
//! `CryptoProvider` (a host may install its own, or none).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::error::{Error, Result};

/// The extra CA certificates of `ca_file`, read and checked (DER, comparable for sharing).
pub(crate) fn load_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>> {
    // The file's contents never go into a message: only the knob, the path and what failed.
    let bad = |why: String| Error::config(format!("ca_file {path:?}: {why}"));
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot be read ({})", e.kind())))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad("is not a valid PEM file".into()))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    let mut store = rustls::RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        store
            .add(cert.clone())
            .map_err(|e| bad(format!("certificate {} is not usable as a CA: {e}", i + 1)))?;
    }
    Ok(certs)
}

/// A client TLS configuration trusting the system's roots and `extra`.
pub(crate) fn client_config(extra: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = verifier(extra, provider.clone())?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS versions: {e}")))?
        .dangerous() // only to plug in the platform verifier, which checks everything
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // What reqwest offers itself with HTTP/2 enabled.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn verifier(
    extra: &[CertificateDer<'static>],
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls_platform_verifier::Verifier> {
    let failed = |e: rustls::Error| Error::config(format!("TLS roots: {e}"));
    if extra.is_empty() {
        return rustls_platform_verifier::Verifier::new(provider).map_err(failed);
    }
    // The platform verifier takes extra roots everywhere but on Android.
    #[cfg(not(target_os = "android"))]
    return rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra.iter().cloned(),
        provider,
    )
    .map_err(failed);
    #[cfg(target_os = "android")]
    Err(Error::config(
        "ca_file is not supported on this platform: add the CA to the system's trust store",
    ))
}

/// A TLS failure: what failed, and whether it is the server's certificate (which the server
/// will present again: retrying is useless).
pub(crate) struct TlsFailure {
    pub message: String,
    pub certificate: bool,
}

/// What a TLS failure says, if `e` (or a cause) is one: the certificate check that failed
/// ("certificate expired", "certificate not valid for name …", "unknown issuer").
pub(crate) fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<TlsFailure> {
    let r = find_rustls(e)?;
    Some(TlsFailure {
        message: describe(r),
        certificate: matches!(r, rustls::Error::InvalidCertificate(_)),
    })
}

/// The rustls error in `e`'s causes. An `io::Error` hides its payload from `source()`, and the
/// connector wraps tokio-rustls' `io::Error` in another: look inside each.
fn find_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if let Some(r) = find_rustls(inner) {
            return Some(r);
        }
    }
    e.source().and_then(find_rustls)
}

fn describe(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let rejected =
        |why: &dyn std::fmt::Display| format!("TLS: the server's certificate was rejected: {why}");
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => rejected(
                &"unknown issuer (its CA is not trusted; a private CA can be added with ca_file)",
            ),
            C::Expired => rejected(&"certificate expired"),
            // "certificate expired: verification time …, but certificate is not valid after …"
            C::ExpiredContext { .. } => rejected(c),
            C::NotValidForName => {
                rejected(&"name mismatch (certificate not valid for the host name)")
            }
            C::NotValidForNameContext { .. } => rejected(&format!("name mismatch ({c})")),
            other => rejected(other),
        },
        other => format!("TLS: {other}"),
    }
}
