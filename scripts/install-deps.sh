#!/usr/bin/env bash
# Install the Debian packages semsearch builds against (idempotent; quiet when all present).
set -euo pipefail
pkgs=(build-essential cmake pkg-config unzip python3-pip
      libopenblas-pthread-dev libutf8proc-dev libcjson-dev libcurl4-openssl-dev libssl-dev
      libmicrohttpd-dev openssl python3-venv
      clang libclang-rt-14-dev
      libsqlite3-dev libicu-dev libstemmer-dev libedit-dev)  # last line: collections (src/store/)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
