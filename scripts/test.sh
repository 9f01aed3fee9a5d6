#!/usr/bin/env bash
# Runs every paperfeed test on a fresh machine: installs what the tests need (system
# packages when run as root, a Python venv for the client-compatibility tests, the
# all-MiniLM-L6-v2 test model), then formatting, clippy and the whole test suite, all on one
# build profile so nothing is compiled twice.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "test dependencies"
./scripts/setup-test-env.sh

export PAPERFEED_MINILM_DIR="${PAPERFEED_MINILM_DIR:-$PWD/target/models/all-MiniLM-L6-v2}"
export PAPERFEED_TEST_PYTHON="${PAPERFEED_TEST_PYTHON:-$PWD/target/test-venv/bin/python}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
# Data dirs of servers the test binaries shared (held in statics, never dropped) last run.
rm -rf target/tmp/paperfeed-test-*
if cargo nextest --version >/dev/null 2>&1; then
  # nextest does not run doctests; the workspace has none (examples in docs are `text`
  # blocks), and `cargo test --doc` would compile the dependency graph a second time.
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
step "all tests passed"
