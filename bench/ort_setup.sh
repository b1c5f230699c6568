#!/usr/bin/env bash
# bench/ort_setup.sh — the ONNX Runtime peer of bench/embed.sh (issue 12):
#   1. build/ortvenv: a venv with tools/reference/ort-requirements.txt (pinned
#      onnxruntime, onnx, tokenizers, numpy from PyPI);
#   2. build/onnx/<model>/model.onnx: the model folder's Transformer exported by
#      tools/reference/export_onnx.py with the reference venv's torch
#      (build/refvenv, tools/reference/setup-venv.sh), and model_int8.onnx, ORT's
#      dynamic int8 quantisation of it.
#
#   bench/ort_setup.sh [--model DIR]      (default models/all-MiniLM-L6-v2)
# Idempotent: an existing venv / export is reused (delete it to redo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="$ROOT/models/all-MiniLM-L6-v2"
[ "${1:-}" = --model ] && MODEL="${2:?--model needs a folder}"
VENV="${ORTVENV:-$ROOT/build/ortvenv}"
REFPY="${REFVENV:-$ROOT/build/refvenv}/bin/python"
OUT="$ROOT/build/onnx/$(basename "$MODEL")"
REQ="$ROOT/tools/reference/ort-requirements.txt"

if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQ" "$VENV/.requirements"; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --no-input -r "$REQ"
    cp "$REQ" "$VENV/.requirements"
fi
if [ ! -f "$OUT/model.onnx" ]; then
    if [ ! -x "$REFPY" ]; then
        echo "ort_setup.sh: $REFPY missing: the export needs the reference venv (bash tools/reference/setup-venv.sh)" >&2
        exit 2
    fi
    "$REFPY" "$ROOT/tools/reference/export_onnx.py" export --model "$MODEL" --out "$OUT"
fi
if [ ! -f "$OUT/model_int8.onnx" ]; then
    "$VENV/bin/python" "$ROOT/tools/reference/export_onnx.py" quantize --out "$OUT"
fi
echo "ort_setup.sh: $VENV ($("$VENV/bin/python" -c 'import onnxruntime; print("onnxruntime", onnxruntime.__version__)')), $OUT"
