//! The environment variables every config's `from_env` reads, read one way: an empty variable is
//! an unset one, and a file a variable names is read as trimmed text whose errors name the
//! variable and the path, never the contents.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::oauth::credentials::Credentials;

/// The variable's value, `None` when unset or blank.
pub(crate) fn opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The variable's value; `Config` "`NAME` is not set" when unset or blank.
pub(crate) fn var(name: &str) -> Result<String> {
    opt(name).ok_or_else(|| Error::config(format!("{name} is not set")))
}

/// The app's credential, if one is set: exactly one of `AUTH0_CLIENT_SECRET`,
/// `AUTH0_CLIENT_SECRET_FILE` (a file holding the secret) and `AUTH0_PRIVATE_KEY_FILE` (a PEM
/// key for `private_key_jwt`, with the optional `AUTH0_PRIVATE_KEY_ALG`, RS256 by default, and
/// `AUTH0_PRIVATE_KEY_ID`). Two of them set is `Config`.
pub(crate) fn credentials() -> Result<Option<Credentials>> {
    let secret_file = opt("AUTH0_CLIENT_SECRET_FILE");
    let secret = match (opt("AUTH0_CLIENT_SECRET"), &secret_file) {
        (Some(_), Some(_)) => {
            return Err(Error::config(
                "AUTH0_CLIENT_SECRET and AUTH0_CLIENT_SECRET_FILE are both set: set one",
            ))
        }
        (Some(s), None) => Some(Zeroizing::new(s)),
        (None, Some(f)) => Some(read_file("AUTH0_CLIENT_SECRET_FILE", f)?),
        (None, None) => None,
    };
    let key = opt("AUTH0_PRIVATE_KEY_FILE")
        .map(|f| read_file("AUTH0_PRIVATE_KEY_FILE", &f))
        .transpose()?;
    if secret.is_some() && key.is_some() {
        return Err(Error::config(
            "a client secret and AUTH0_PRIVATE_KEY_FILE are both set: set one",
        ));
    }
    let key_opt = |name: &str| opt(name).filter(|_| key.is_some());
    Credentials::optional_from_parts(
        secret.as_deref().map(String::as_str),
        key.as_deref().map(String::as_str),
        key_opt("AUTH0_PRIVATE_KEY_ALG").as_deref(),
        key_opt("AUTH0_PRIVATE_KEY_ID").as_deref(),
    )
}

/// The trimmed text of the file a variable names (a secret or a key: wiped on drop).
fn read_file(var: &str, path: &str) -> Result<Zeroizing<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Zeroizing::new(text.trim().to_string())),
        Err(e) => Err(Error::config(format!(
            "cannot read {var} {:?}: {}",
            crate::text::truncate(path, 200),
            match e.kind() {
                std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
                _ => std::io::Error::from(e.kind()).to_string(),
            }
        ))),
    }
}
