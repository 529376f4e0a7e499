//! Sealing of shared entries: names and keys derived from the client's credential.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hkdf::{KeyType, Salt, HKDF_SHA256};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The format of an entry: `MAGIC || nonce || ciphertext+tag`.
const MAGIC: &[u8; 4] = b"TKS1";
/// v2: every value is a `Stored` (sealed end of life). A new salt gives new names, so
/// processes of both versions on one storage never read (and remove) each other's entries.
const SALT: &[u8] = b"tokenkeeper shared cache v2";

/// One entry's storage name and sealing key. The name is a digest: it shows no token, secret,
/// client id or audience.
#[derive(Clone)]
pub(crate) struct EntryKey {
    pub name: String,
    key: LessSafeKey,
}

struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl EntryKey {
    /// From the credential (secret or private key) and the parts of the cache key.
    pub fn derive(credential: &[u8], parts: &[&str]) -> Self {
        Self::derive_kind(credential, "token", parts)
    }

    /// The key of another kind of entry for the same cache key (a remembered 429).
    pub fn derive_kind(credential: &[u8], kind: &str, parts: &[&str]) -> Self {
        let mut info = Vec::new();
        for p in std::iter::once(&kind).chain(parts) {
            // Length-prefixed, so that no two different tuples give the same input.
            info.extend_from_slice(&(p.len() as u64).to_le_bytes());
            info.extend_from_slice(p.as_bytes());
        }
        let prk = Salt::new(HKDF_SHA256, SALT).extract(credential);
        let mut name = [0u8; 32];
        prk.expand(&[b"name", &info], Len(32))
            .and_then(|okm| okm.fill(&mut name))
            .expect("HKDF output of 32 bytes");
        let key = prk
            .expand(&[b"key", &info], &CHACHA20_POLY1305)
            .map(UnboundKey::from)
            .expect("HKDF output of a ChaCha20 key");
        Self {
            name: name.iter().map(|b| format!("{b:02x}")).collect(),
            key: LessSafeKey::new(key),
        }
    }

    pub fn seal<T: Serialize>(&self, entry: &T) -> Vec<u8> {
        let mut plain = serde_json::to_vec(entry).expect("an entry serializes");
        let nonce = crate::oauth::random::secret_bytes::<NONCE_LEN>();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad()),
                &mut plain,
            )
            .expect("sealing cannot fail for small inputs");
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + plain.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&plain);
        zeroize::Zeroize::zeroize(&mut plain);
        out
    }

    /// The entry, if `bytes` is one sealed for this key (else tampered, corrupt or foreign).
    pub fn open<T: DeserializeOwned>(&self, bytes: &[u8]) -> Option<T> {
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        if rest.len() < NONCE_LEN + aead::MAX_TAG_LEN {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = sealed.to_vec();
        let entry = self
            .key
            .open_in_place(nonce, Aad::from(self.aad()), &mut buf)
            .ok()
            .filter(|plain| crate::text::is_json_object(plain))
            .and_then(|plain| serde_json::from_slice::<T>(plain).ok());
        zeroize::Zeroize::zeroize(&mut buf);
        entry
    }

    fn aad(&self) -> Vec<u8> {
        [MAGIC.as_slice(), self.name.as_bytes()].concat()
    }
}
