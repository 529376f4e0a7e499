//! Secret random values (`state`, `nonce`, PKCE verifier, assertion `jti`, cache salts), always
//! from the operating system's generator: a user-space generator seeded before a fork would
//! give a pre-forking server's workers the same values.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::TryRngCore;

/// `N` bytes from the OS generator.
pub(crate) fn secret_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS generator does not fail on the platforms we build for; if it ever did, no secret
    // may be made from anything weaker.
    OsRng
        .try_fill_bytes(&mut b)
        .expect("the operating system's random generator failed");
    b
}

/// 32 random bytes, base64url: a `state`, `nonce` or PKCE verifier (256 bits).
pub(crate) fn secret_b64() -> String {
    URL_SAFE_NO_PAD.encode(secret_bytes::<32>())
}
