#!/usr/bin/env bash
# Build the VS Code extension (.vsix) from the lock file; packaging itself needs no network.
# Then run the grammar's test (tokenises examples/ with vscode-textmate).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
npx vsce package --no-dependencies --out segdsl.vsix
npm test
