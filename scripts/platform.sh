# Sourced by the packaging scripts: the names this platform gives native libraries, so the same
# scripts run on Linux, macOS and Windows (Git Bash on the release workflow's runner).
#   dylib NAME     the shared library cargo builds for crate NAME: libNAME.so, libNAME.dylib, NAME.dll
#   staticlib NAME the static library: libNAME.a, NAME.lib (MSVC)
#   JNA_PREFIX     JNA's resource directory for this platform (Platform.RESOURCE_PREFIX)
#   PLATFORM_OS    linux, macos or windows
case "$(uname -s)" in
Linux) PLATFORM_OS=linux ;;
Darwin) PLATFORM_OS=macos ;;
MINGW* | MSYS* | CYGWIN*) PLATFORM_OS=windows ;;
*) echo "platform.sh: unknown system $(uname -s)" >&2; return 1 ;;
esac
dylib() {
  case $PLATFORM_OS in
  linux) echo "lib$1.so" ;;
  macos) echo "lib$1.dylib" ;;
  windows) echo "$1.dll" ;;
  esac
}
staticlib() {
  case $PLATFORM_OS in
  windows) echo "$1.lib" ;;
  *) echo "lib$1.a" ;;
  esac
}
case "$PLATFORM_OS-$(uname -m)" in
linux-x86_64) JNA_PREFIX=linux-x86-64 ;;
linux-aarch64) JNA_PREFIX=linux-aarch64 ;;
macos-arm64) JNA_PREFIX=darwin-aarch64 ;;
macos-x86_64) JNA_PREFIX=darwin-x86-64 ;;
windows-x86_64) JNA_PREFIX=win32-x86-64 ;;
*) JNA_PREFIX= ;;
esac
