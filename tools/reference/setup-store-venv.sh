#!/usr/bin/env bash
# Create build/storevenv: BM25 (bm25s, rank-bm25) and pytrec_eval references for
# the collection goldens, pinned in tools/reference/store-requirements.txt.
# numpy / scipy come from the system (Debian) through --system-site-packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/build/storevenv"
if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$ROOT/build"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/pip" install --no-deps -q -r "$ROOT/tools/reference/store-requirements.txt"
"$VENV/bin/python" -c 'import bm25s, rank_bm25, pytrec_eval; print("storevenv ok", bm25s.__version__)'
