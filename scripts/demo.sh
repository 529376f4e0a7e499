#!/usr/bin/env bash
# The main job: install the wheel, start the embedded local issuer, get a token twice (the
# second from the cache), show its claims and the counters. The Rust version of the same job:
# `cargo run -p tokenkeeper --example demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash python/demo.sh
