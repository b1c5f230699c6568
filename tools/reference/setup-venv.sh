#!/usr/bin/env bash
# Create (or refresh) the reference Python environment at build/refvenv.
# Idempotent: re-running only installs what is missing.
#
# torch: Debian's CPU python3-torch (1.13.1) is used through
# --system-site-packages; PyPI torch wheels pull several GB of CUDA libs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/build/refvenv"
REQ="$ROOT/tools/reference/requirements.txt"
SYSPY=/usr/bin/python3

need_apt=()
"$SYSPY" -c 'import torch' >/dev/null 2>&1 || need_apt+=(python3-torch)
"$SYSPY" -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-venv
fi

if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$ROOT/build"
    "$SYSPY" -m venv --system-site-packages "$VENV"
fi

# Skip pip when everything pinned is already satisfied.
if ! "$VENV/bin/python" - "$REQ" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split('#', 1)[0].strip()
    if not line:
        continue
    name, want = line.split('==')
    assert version(name) == want, (name, version(name), want)
import torch, sentence_transformers  # noqa: F401
PY
then
    "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$REQ"
fi
"$VENV/bin/python" -c 'import torch, transformers, tokenizers, sentence_transformers, scipy; print("refvenv ok: torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__, "sentence-transformers", sentence_transformers.__version__, "scipy", scipy.__version__)'
