#!/usr/bin/env bash
# Peers for bench/store_peers.py (idempotent, quiet when present): Chroma
# (SQLite + its HNSW) and sqlite-vec, pinned in bench/store-requirements.txt,
# in build/store-venv. The venv sees the system packages (Debian's numpy).
# Not needed to build or run semsearch.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg-query -W -f='${Status}' python3-numpy 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-numpy python3-venv >&2
fi
if [ ! -x build/store-venv/bin/python ] || ! build/store-venv/bin/python -c "import chromadb, sqlite_vec" 2>/dev/null; then
  mkdir -p build
  /usr/bin/python3 -m venv --system-site-packages build/store-venv
  build/store-venv/bin/pip install -q -r bench/store-requirements.txt
fi
