#!/usr/bin/env bash
# The main job: start the embedded local issuer, get a token twice (the second from the cache),
# validate and show its claims, and show the counters.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet -p tokenkeeper --example demo
