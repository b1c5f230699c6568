#!/usr/bin/env bash
# setup-venv.sh DIR [REQUIREMENTS] — a venv with the real clients the server
# tests drive: requirements.txt (default; openai, huggingface_hub,
# elasticsearch 8.x — pip freeze of requirements.in) or requirements-es9.txt
# (the elasticsearch 9.x client), every package pinned with ==. Idempotent: a venv
# whose stamp matches requirements.txt is reused. Needs PyPI once; fails
# loudly (exit 1, a message naming what failed) when pip cannot fetch.
set -euo pipefail
dir=${1:?usage: setup-venv.sh DIR [REQUIREMENTS]}
here=$(cd "$(dirname "$0")" && pwd)
req="$here/${2:-requirements.txt}"
stamp="$dir/.semsearch-requirements"
# Two tests (test_server_clients, test_es_clients) may ask for the same venv at
# once under ctest -j: one builds it while the other waits for the lock.
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then exit 0; fi
rm -rf "$dir"
python3 -m venv "$dir" || { echo "setup-venv: python3 -m venv failed (install python3-venv)" >&2; exit 1; }
if ! "$dir/bin/pip" install --disable-pip-version-check -q -r "$req" > "$dir/pip.log" 2>&1; then
    echo "setup-venv: pip could not install $req (PyPI unreachable?); see $dir/pip.log:" >&2
    tail -5 "$dir/pip.log" >&2
    exit 1
fi
cp "$req" "$stamp"
