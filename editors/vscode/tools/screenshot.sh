#!/usr/bin/env bash
# Regenerate docs/images/editor-highlighting.png: tools/sample.seg tokenised by the
# extension's grammar, with the diagnostic `seg validate` gives, rendered by headless
# Chromium (Debian: apt-get install chromium). Needs `seg` on PATH and node_modules.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../../.. && pwd)"
work="$(mktemp -d)"
cp "$root/examples/model.seg" sample.seg "$work/"
echo 'as_of = "2025-07-01"' > "$work/seg.toml"
seg validate "$work" --format json > "$work/diagnostics.json" || true  # exit 1: it has findings
node render.js "$work/sample.seg" "$work/diagnostics.json" > "$work/page.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=760,400 \
  --screenshot="$root/docs/images/editor-highlighting.png" "file://$work/page.html"
rm -rf "$work"
