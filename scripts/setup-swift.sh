#!/usr/bin/env bash
# Swift is packaged only for Debian trixie: keep a reusable trixie chroot outside the clone with
# swiftlang installed. Idempotent; prints the chroot path on its last line.
set -euo pipefail
ROOT=${TK_SWIFT_CHROOT:-/var/cache/tokenkeeper/swift-trixie}
if [ ! -x "$ROOT/usr/bin/swiftc" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  mkdir -p "$(dirname "$ROOT")"
  if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
    rm -rf "$ROOT"
    debootstrap --variant=minbase trixie "$ROOT" >&2
  fi
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  chroot "$ROOT" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq swiftlang >/dev/null' >&2
fi
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
echo "$ROOT"
