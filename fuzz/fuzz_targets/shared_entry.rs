//! The shared cache's sealed entries: bytes read from a cache file (tampered, truncated,
//! foreign), and sealed JSON of any shape read back as a token entry or a remembered 429.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tokenkeeper::fuzzing::shared;

fuzz_target!(|data: &[u8]| {
    // Bytes nobody sealed with this key never open.
    assert_eq!(shared::open(data), (None, false));
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let sealed = shared::seal(&value);
    let (entry, _) = shared::open(&sealed);
    if let Some((token, at)) = &entry {
        // serde reads a struct from an object by name, or from an array by position: the
        // stored value (`v`, `until_ms`), and in it the entry's `access_token`.
        fn field<'a>(v: &'a serde_json::Value, name: &str, at: usize) -> Option<&'a serde_json::Value> {
            match v {
                serde_json::Value::Array(a) => a.get(at),
                v => v.get(name),
            }
        }
        let (t, e) = (
            field(&value, "v", 0).and_then(|v| field(v, "access_token", 0)),
            field(&value, "until_ms", 1),
        );
        assert!(!token.is_empty(), "an entry served has a token");
        assert_eq!(t.and_then(|t| t.as_str()), Some(token.as_str()));
        assert_eq!(e.and_then(|e| e.as_u64()), Some(*at));
    }
    // Any flipped bit, and any cut, makes it unreadable.
    let mut bad = sealed.clone();
    let at = data.len() % bad.len();
    bad[at] ^= 1 << (data.len() % 8);
    assert_eq!(shared::open(&bad), (None, false));
    assert_eq!(shared::open(&sealed[..sealed.len() - 1]), (None, false));
});
