#!/usr/bin/env bash
# The soak (not CI): 64 threads on 2-second tokens for SECONDS (default 60) against the local
# issuer with 10 % of token responses faulted; checks every token served and that RSS and open
# file descriptors stay flat. Exit status 0 on a pass. See docs/resilience.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
SEED="${2:-12}"
cargo build --release -q -p tokenkeeper --example soak
exec target/release/examples/soak "$SECONDS_TO_RUN" "$SEED"
