#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, the Rust tests (release profile, the same build
# as the CLI and the Python extension) and the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-run
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -- -D warnings
cargo test --release --workspace
OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q python/tests
