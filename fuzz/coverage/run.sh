#!/usr/bin/env bash
# Coverage-guided fuzzing of one simulator parser on stable Rust:
#   fuzz/coverage/run.sh TARGET [SECONDS]      TARGET: swf, openb_nodes, openb_pods, series
# Builds the libFuzzer harness with sanitizer-coverage instrumentation (stable -C flags) into
# target/coverage, then fuzzes from fuzz/corpus/TARGET under a 4 GiB RSS limit. New inputs go to
# target/coverage/corpus/TARGET (the committed corpus is left as it is), crashes to
# target/coverage/crashes/.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${1:?usage: fuzz/coverage/run.sh TARGET [SECONDS]}
SECONDS_BUDGET=${2:-60}
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
# An explicit --target keeps the instrumentation off build scripts and proc-macros (as
# cargo-fuzz does): they run on the host without libFuzzer's runtime.
HOST=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --manifest-path fuzz/coverage/Cargo.toml --target-dir target/coverage --target "$HOST"
mkdir -p "target/coverage/corpus/$TARGET" target/coverage/crashes
PLANETGYM_FUZZ_TARGET=$TARGET "target/coverage/$HOST/release/coverage" \
  "target/coverage/corpus/$TARGET" "fuzz/corpus/$TARGET" \
  -max_total_time="$SECONDS_BUDGET" -rss_limit_mb=4096 -max_len=1048576 -timeout=20 \
  -artifact_prefix=target/coverage/crashes/ -print_final_stats=1
