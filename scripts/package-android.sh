#!/usr/bin/env bash
# Android: DIST/kotlin/tokenkeeper-android-VERSION.zip, the generated Kotlin sources and
# libtokenkeeper_uniffi.so for each ABI at jniLibs/ABI/ (the layout an Android Gradle module's
# src/main takes as it is; JNA's Android AAR loads the library from there). Needs the Android
# NDK (ANDROID_NDK_HOME) and cargo-ndk. Run by the release workflow's Android job; it has NOT
# run here (no NDK on this machine).
#
#   scripts/package-android.sh     (DIST defaults to dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${ANDROID_NDK_HOME:-}" ] || { echo "package-android: set ANDROID_NDK_HOME to the NDK" >&2; exit 1; }
command -v cargo-ndk >/dev/null || cargo install --locked cargo-ndk
source bindings/tests/common.sh
dist=$(mkdir -p "${DIST:-dist}/kotlin" && cd "${DIST:-dist}/kotlin" && pwd)
work=$TARGET/package-android
rm -rf "$work" && mkdir -p "$work/jniLibs" "$work/kotlin"
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android >/dev/null
# API 24: Android 7, the oldest the JNA AAR supports with 64-bit ABIs.
cargo ndk --platform 24 -t arm64-v8a -t armeabi-v7a -t x86_64 -t x86 -o "$work/jniLibs" \
  build --release -p tokenkeeper-uniffi
# The Kotlin sources are the same on every platform: generated from the host's debug library.
cargo build --quiet -p tokenkeeper-uniffi
"$TARGET/debug/uniffi-bindgen" generate --no-format --library "$LIB" --language kotlin --out-dir "$work/kotlin"
(cd "$work" && python3 -m zipfile -c "$dist/tokenkeeper-android-$TK_EXPECTED_VERSION.zip" jniLibs kotlin)
ls -l "$dist/tokenkeeper-android-$TK_EXPECTED_VERSION.zip" | awk '{print $5, $9}'
