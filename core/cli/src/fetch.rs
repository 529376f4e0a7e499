//! `token` and `header`: the client from the flags and the environment, one token, one line.
//! The checks and their messages are the core's (`Credentials::from_parts`,
//! `SharedCache::parse_optional`, `AuthMethod::parse`, `TokenClient::request`…), in the order
//! the argparse CLI of 0.2.0 reached them.

use std::path::Path;
use std::time::SystemTime;

use tokenkeeper::{AuthMethod, ClientConfig, Credentials, SharedCache, Token, TokenClient};

use crate::args::Common;
use crate::Failure;

/// What the command prints.
#[derive(Clone, Copy)]
pub enum Output {
    AccessToken,
    Json,
    Header,
}

pub fn run(flags: &Common, output: Output) -> Result<String, Failure> {
    let audience = flags.audience.clone().or_else(|| var("AUTH0_AUDIENCE"));
    let client = client(flags, audience.clone())?;
    let req = client.request(
        audience.as_deref(),
        flags.scope.as_deref(),
        flags.organization.as_deref(),
    )?;
    let token = client.get_token_blocking(&req)?;
    Ok(match output {
        Output::AccessToken => token.access_token().to_string(),
        Output::Header => token.authorization_header().to_string(),
        Output::Json => token_json(&token),
    })
}

/// A set variable, even empty, is a value (as `os.environ.get`).
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn client(flags: &Common, audience: Option<String>) -> Result<TokenClient, Failure> {
    let domain = flags.domain.clone().or_else(|| var("AUTH0_DOMAIN"));
    let client_id = flags.client_id.clone().or_else(|| var("AUTH0_CLIENT_ID"));
    let Some(domain) = domain.filter(|d| !d.is_empty()) else {
        return Err(Failure::Config(
            "no domain: pass --domain or set AUTH0_DOMAIN".into(),
        ));
    };
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return Err(Failure::Config(
            "no client id: pass --client-id or set AUTH0_CLIENT_ID".into(),
        ));
    };
    let path = |p: &Option<std::path::PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
    let key = path(&flags.private_key_file)
        .map(|p| read(&p, "private key"))
        .transpose()?;
    let mut secret = match path(&flags.client_secret_file) {
        Some(p) => Some(read(&p, "client secret")?),
        None if flags.client_secret.as_deref() == Some("-") => Some(stdin_secret()?),
        None => flags.client_secret.clone(),
    };
    if key.is_none() && secret.is_none() {
        secret = var("AUTH0_CLIENT_SECRET").filter(|s| !s.is_empty());
    }
    // Read before the core checks anything, as the 0.2.0 CLI did.
    let shared_file = path(&flags.shared_cache_file)
        .map(|p| read(&p, "shared cache"))
        .transpose()?;
    let credentials = Credentials::from_parts(
        secret.as_deref(),
        key.as_deref(),
        flags.private_key_alg.as_deref(),
        None,
    )?;
    let mut config = ClientConfig::new(domain, client_id, credentials);
    // The CLI shares tokens between runs unless told not to: `--no-shared-cache`, or an empty
    // `--shared-cache ""`; an empty variable is unset.
    if !flags.no_shared_cache {
        let spec = match (&flags.shared_cache, shared_file) {
            (_, Some(spec)) => spec,
            (Some(s), None) => s.clone(),
            (None, None) => var("TOKENKEEPER_SHARED_CACHE")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "file".into()),
        };
        if let Some(level) = SharedCache::parse_optional(Some(&spec))? {
            config = config.shared_cache(level);
        }
    }
    if let Some(m) = given(&flags.auth_method) {
        config = config.auth_method(AuthMethod::parse(m)?);
    }
    if let Some(a) = audience {
        config = config.default_audience(a);
    }
    if let Some(t) = flags.timeout {
        config.http_mut().set("request_timeout", t)?;
    }
    let ca_file = match &flags.ca_file {
        Some(f) => Some(f.clone()),
        None => var("TOKENKEEPER_CA_FILE"),
    };
    if let Some(f) = ca_file.filter(|f| !f.is_empty()) {
        config.http_mut().set_text("ca_file", &f)?;
    }
    Ok(TokenClient::new(config)?)
}

/// The file's text, trimmed; an unreadable file is a configuration error that names the path
/// (never its contents).
fn read(path: &Path, what: &str) -> Result<String, Failure> {
    let why = match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
        // Python's `strerror`: the OS's text without Rust's " (os error N)".
        Err(e) => match e.raw_os_error() {
            Some(code) => {
                let text = std::io::Error::from_raw_os_error(code).to_string();
                text.split(" (os error").next().unwrap_or(&text).to_string()
            }
            None => e.to_string(),
        },
    };
    Err(Failure::Config(format!(
        "cannot read the {what} file {:?}: {why}",
        path.to_string_lossy()
    )))
}

/// `--client-secret -`: the secret is the whole of stdin, trimmed.
fn stdin_secret() -> Result<String, Failure> {
    use std::io::Read;
    let mut text = String::new();
    match std::io::stdin().read_to_string(&mut text) {
        Ok(_) => Ok(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(Failure::Config(
            "cannot read the client secret from stdin: not UTF-8 text".into(),
        )),
        Err(_) => Err(Failure::Config(
            "cannot read the client secret from stdin".into(),
        )),
    }
}

/// `--json`: the token and its details, one line, in this order.
fn token_json(t: &Token) -> String {
    #[derive(serde::Serialize)]
    struct Json<'a> {
        access_token: &'a str,
        token_type: &'a str,
        expires_in: u64,
        expires_at: String,
        scope: Option<&'a str>,
    }
    serde_json::to_string(&Json {
        access_token: t.access_token(),
        token_type: t.token_type(),
        expires_in: t.expires_in(),
        expires_at: iso8601(t.expires_at()),
        scope: t.scope(),
    })
    .unwrap_or_default()
}

/// An instant as ISO 8601 in UTC to the microsecond (`2026-12-07T12:00:00.500000+00:00`), the
/// CLI's one date format.
pub fn iso8601(at: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    );
    time::OffsetDateTime::from(at)
        .format(&format)
        .unwrap_or_else(|_| "?".into())
}
