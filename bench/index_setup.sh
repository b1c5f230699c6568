#!/usr/bin/env bash
# Peers and plotting for bench/index_bench.sh (idempotent, quiet when present):
# Debian's hnswlib / FAISS / numpy for /usr/bin/python3, and matplotlib (pinned
# in bench/index-requirements.txt) in build/index-venv, which sees the system
# packages. Not needed to build or run semsearch.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(python3-hnswlib python3-faiss python3-numpy python3-venv)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "index_setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if [ ! -x build/index-venv/bin/python ] || ! build/index-venv/bin/python -c "import matplotlib" 2>/dev/null; then
  mkdir -p build
  /usr/bin/python3 -m venv --system-site-packages build/index-venv
  build/index-venv/bin/pip install -q -r bench/index-requirements.txt
fi
