#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, the Rust tests (release profile, the same build
# as the CLI and the Python extension), a short fuzz budget and the Python tests. The fuzzing
# runs under an 8 GiB address-space limit, so that an allocation blow-up aborts and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-run
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -- -D warnings
cargo test --release --workspace
(ulimit -v 8388608 && target/release/planetgym-fuzz run --seconds 8)
(ulimit -v 8388608 && OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q python/tests/test_fuzz.py)
OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q python/tests --ignore python/tests/test_fuzz.py
