//! The shared library's SONAME, `libtokenkeeper.so.MAJOR` (on Apple platforms its install name,
//! `@rpath/libtokenkeeper.MAJOR.dylib`): programs record it when they link, so an upgrade within
//! a major version is picked up and one across majors is told apart.

fn main() {
    let target = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
    if target == "linux" || target == "android" || target.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtokenkeeper.so.{major}");
    } else if target == "macos" || target == "ios" {
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libtokenkeeper.{major}.dylib"
        );
    }
}
