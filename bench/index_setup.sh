#!/usr/bin/env bash
# Peers for bench/index_bench.sh (idempotent, quiet when present), in a pinned
# venv build/index-venv (no system packages):
#  - hnswlib 0.8.0 from PyPI, built from source with -march=native (its
#    setup.py adds -march=native too; CFLAGS make it explicit),
#  - faiss-cpu 1.15.1 (the wheel carries AVX2 / AVX512 / AVX512_SPR builds and
#    loads the best this CPU runs), usearch 2.26.6, matplotlib, numpy:
#    bench/index-requirements.txt.
# INDEX_DEBIAN=1 also installs Debian's python3-hnswlib 0.6.2 (SSE only) for
# /usr/bin/python3, the peer of the older figures (index_compare.py
# PEERS=hnswlib-debian, run with /usr/bin/python3). Not needed to build or run
# semsearch.
set -euo pipefail
cd "$(dirname "$0")/.."
V=build/index-venv
want=$(cat bench/index-requirements.txt bench/index-build-requirements.txt | sha256sum | cut -c1-16)
if [ "$(cat $V/.pins 2>/dev/null)" != "$want" ]; then
  echo "index_setup: creating $V (pinned peers; builds hnswlib from source, a minute)" >&2
  rm -rf $V
  mkdir -p build
  python=/usr/bin/python3
  [ -x $python ] || python=python3
  $python -m venv $V
  $V/bin/pip install -q -r bench/index-build-requirements.txt
  CFLAGS="-O3 -march=native" CXXFLAGS="-O3 -march=native" \
    $V/bin/pip install -q --no-cache-dir --no-build-isolation --no-binary hnswlib -r bench/index-requirements.txt
  echo "$want" > $V/.pins
fi
if [ "${INDEX_DEBIAN:-0}" = 1 ] && ! dpkg-query -W -f='${Status}' python3-hnswlib 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-hnswlib python3-numpy >&2
fi
