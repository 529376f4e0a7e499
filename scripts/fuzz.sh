#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of outside input (fuzz/, docs/fuzzing.md).
#
#   scripts/fuzz.sh SECONDS [TARGET...]
#
# Builds the targets with cargo fuzz (libFuzzer, stable toolchain: --sanitizer none), runs each
# for SECONDS (nice'd) on its committed seeds in fuzz/corpus/<target> plus a work corpus under
# fuzz/target/, and prints per target the executions, coverage and crashes. Exits non-zero when
# any target crashed; the input is in fuzz/artifacts/<target>/. Not run by CI.
set -euo pipefail

seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
[[ $seconds =~ ^[0-9]+$ ]] || { echo "SECONDS must be a whole number" >&2; exit 2; }
cd "$(dirname "$0")/../fuzz"

# cargo-fuzz is a crates.io tool: installed here when missing (a missing fuzzer is a failure,
# never a skip).
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || mapfile -t targets < <(cargo fuzz list)
nice_level=${FUZZ_NICE:-19}

# libFuzzer is linked from source and the instrumentation uses stable -C flags only: no
# sanitizer (that would need nightly), debug assertions and overflow checks on.
flags=(--sanitizer none --debug-assertions)
mkdir -p target
# FUZZ_NO_BUILD=1 runs the binaries built before (several runs of this script at once).
if [[ -z ${FUZZ_NO_BUILD:-} ]]; then
    nice -n "$nice_level" cargo fuzz build "${flags[@]}" >target/fuzz-build.log 2>&1 ||
        { tail -n 30 target/fuzz-build.log >&2; echo "cargo fuzz build failed" >&2; exit 1; }
fi
bin=target/$(rustc -vV | sed -n 's/^host: //p')/release

results=()
failed=0
for t in "${targets[@]}"; do
    work=target/corpus/$t
    seeds=corpus/$t
    mkdir -p "$work" "$seeds" "artifacts/$t"
    log=target/fuzz-$t.log
    set +e
    # The binary itself (what `cargo fuzz run` starts), so no cargo runs between targets.
    nice -n "$nice_level" "$bin/$t" "$work" "$seeds" \
        -max_total_time="$seconds" -dict=dict/tokenkeeper.dict -max_len=16384 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    [[ -n $execs ]] || execs=$(grep -o '^#[0-9]*' <<<"$last" | tr -d '#' || true)
    # libFuzzer stops at the first crash: a run finds one or none.
    crashes=0
    if [[ $rc -ne 0 ]]; then
        failed=1
        crashes=1
        echo "== $t crashed (exit $rc); input and log:" >&2
        grep -E 'panicked|Test unit written|SUMMARY' "$log" >&2 || tail -n 20 "$log" >&2
    fi
    results+=("$(printf '%-16s %8s %12s %7s %7s %8s' "$t" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes")")
done

printf '%-16s %8s %12s %7s %7s %8s\n' target seconds execs cov ft crashes
printf '%s\n' "${results[@]}"
exit "$failed"
