//! uniffi's bindings generator, pinned to the uniffi version this crate is built with.
//! Library mode: `uniffi-bindgen generate --library target/debug/libtokenkeeper_uniffi.so
//! --language kotlin|swift --out-dir DIR` (the test scripts and bindings/README.md use it).

#![forbid(unsafe_code)]

fn main() {
    uniffi::uniffi_bindgen_main()
}
