#!/usr/bin/env bash
# The JVM artifact: DIST/kotlin/tokenkeeper-VERSION.jar holds the generated Kotlin compiled and
# the native library at JNA's resource path (linux-x86-64/libtokenkeeper_uniffi.so, or this
# platform's: scripts/platform.sh), so a user
# needs only the jar, JNA and kotlinx-coroutines on the classpath, and no library path;
# tokenkeeper-VERSION.pom beside it names those dependencies for Maven and Gradle.
#
#   scripts/package-kotlin.sh [--debug]    (DIST defaults to dist/; --debug packages the debug
#                                           library, for the package test)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
[ "${1:-}" = --debug ] && profile=debug
source bindings/tests/common.sh
kotlin_toolchain || { echo "package-kotlin: $TOOLCHAIN_ERROR" >&2; exit 1; }
version=$TK_EXPECTED_VERSION
dist=${DIST:-dist}/kotlin
work=$TARGET/package-kotlin
# JNA's resource prefix of this platform (Platform.RESOURCE_PREFIX; scripts/platform.sh).
prefix=$JNA_PREFIX
[ -n "$prefix" ] || { echo "package-kotlin: no JNA prefix known for $(uname -sm)" >&2; exit 1; }

flags=()
[ "$profile" = release ] && flags=(--release)
cargo build --quiet "${flags[@]}" -p tokenkeeper-uniffi
# The sources come from the debug library: the release one is stripped of the metadata symbols
# uniffi-bindgen reads (the checksums the bindings check are exported functions, the same in both).
cargo build --quiet -p tokenkeeper-uniffi
lib=$TARGET/$profile/$(dylib tokenkeeper_uniffi)
rm -rf "$work" && mkdir -p "$work/classes/$prefix" "$dist"
"$TARGET/debug/uniffi-bindgen" generate --no-format --library "$LIB" \
  --language kotlin --out-dir "$work/src"
JAVA_OPTS="-Xss4m" "$KOTLINC" -nowarn -cp "$JNA:$COROUTINES" -d "$work/classes" \
  "$work/src/tokenkeeper/tokenkeeper_uniffi.kt" bindings/kotlin/*.kt
cp "$lib" "$work/classes/$prefix/"
jar=$dist/tokenkeeper-$version.jar
python3 - "$work/classes" "$jar" "$version" <<'PY'
import os, sys, zipfile
root, out, version = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("META-INF/MANIFEST.MF",
               f"Manifest-Version: 1.0\nImplementation-Title: tokenkeeper\nImplementation-Version: {version}\n\n")
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            p = os.path.join(d, f)
            z.write(p, os.path.relpath(p, root))
PY
# The versions of the jars this was compiled against.
read -r jna_version coroutines_version < <(python3 - "$JNA" "$COROUTINES" <<'PY'
import re, sys, zipfile
jna = zipfile.ZipFile(sys.argv[1]).read("META-INF/MANIFEST.MF").decode()
co = zipfile.ZipFile(sys.argv[2]).read("META-INF/kotlinx_coroutines_core.version").decode()
print(re.search(r"Implementation-Version: *([0-9.]+)", jna).group(1), co.strip())
PY
)
kotlin_version=$KOTLIN_VERSION
cat >"$dist/tokenkeeper-$version.pom" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.tokenkeeper</groupId>
  <artifactId>tokenkeeper</artifactId>
  <version>$version</version>
  <packaging>jar</packaging>
  <name>tokenkeeper</name>
  <description>Gets, caches, renews and validates OAuth 2.0 access tokens the way Auth0 issues them (Kotlin bindings; native library for $prefix inside).</description>
  <licenses>
    <license><name>MIT OR Apache-2.0</name></license>
  </licenses>
  <dependencies>
    <dependency>
      <groupId>net.java.dev.jna</groupId>
      <artifactId>jna</artifactId>
      <version>$jna_version</version>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlinx</groupId>
      <artifactId>kotlinx-coroutines-core-jvm</artifactId>
      <version>$coroutines_version</version>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlin</groupId>
      <artifactId>kotlin-stdlib</artifactId>
      <version>$kotlin_version</version>
    </dependency>
  </dependencies>
</project>
POM
ls -l "$jar" "$dist/tokenkeeper-$version.pom" | awk '{print $5, $9}'
