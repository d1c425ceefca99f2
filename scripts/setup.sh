#!/usr/bin/env bash
# Sets up planetgym on a fresh Debian/Ubuntu machine: system packages the HiGHS LP solver build
# needs, the Rust release build (CLI + libraries), and the Python virtual environment `.venv`
# with the planetgym package built by maturin against the same target directory.
# Then runs the main job (all traffic baselines on the built-in default scenario; files in
# runs/traffic-baselines) unless
# `--no-run` is given.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v c++ >/dev/null || need+=(g++)
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || need+=(libclang-dev)
python_bin=$(command -v python3.11 || command -v python3)
"$python_bin" -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "installing system packages: ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

cargo build --release --workspace --bins

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip "maturin>=1.16,<2"
VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH" \
    .venv/bin/maturin develop --release --quiet -m python/Cargo.toml --extras test,sb3,notebook,shadow,ray

if [ "${1:-}" != "--no-run" ]; then
    ./target/release/planetgym baselines --scenario traffic --out runs/traffic-baselines
fi
