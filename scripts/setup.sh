#!/usr/bin/env bash
# Installs what bitjit needs to build and test, from Debian 12's packages. Idempotent: packages
# already present are left alone, and apt-get runs only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libxbyak-dev libprotobuf-dev protobuf-compiler
  libgflags-dev libgoogle-glog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpcre2-dev nlohmann-json3-dev libcpp-httplib-dev libcurl4-openssl-dev
  clang-14 libclang-rt-14-dev
  chromium  # headless, for tests/chat_page_test.cc (the page of `bitjit serve`)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# tests/server_test.cc checks `bitjit serve` with the official openai npm client: Node.js and npm
# (Debian's nodejs and npm when missing; a Node that came with its own npm is kept), then the
# client pinned by tests/server/package-lock.json into tests/server/node_modules, with
# playwright-core, which drives chromium for tests/chat_page_test.cc.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: installing nodejs npm"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm install --prefix "$(dirname "$0")/../tests/server" --no-audit --no-fund --loglevel=error
