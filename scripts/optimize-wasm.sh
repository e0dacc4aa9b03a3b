#!/usr/bin/env bash
# Shrinks the client's .wasm in a Trunk dist folder with binaryen's wasm-opt (-Oz): about a
# quarter fewer bytes over the wire. Debian's binaryen (108) breaks the externref table that
# wasm-bindgen 0.2.130 emits, so this uses binaryen from the npm registry, pinned, run by
# Node.js. Without Node.js the client stays as Trunk built it (it works the same, only
# bigger). Trunk wrote `integrity` hashes into index.html: they are renewed here.
#
# Usage: scripts/optimize-wasm.sh [dist]
set -euo pipefail
cd "$(dirname "$0")/.."

dist=${1:-dist}
version=132.0.0
tools=.tools/binaryen-$version
wasm_opt=$tools/node_modules/binaryen/bin/wasm-opt

if ! command -v node >/dev/null 2>&1; then
  echo "optimize-wasm: Node.js not found; the client is left unoptimised" >&2
  exit 0
fi
if [ ! -f "$wasm_opt" ]; then
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --no-save --silent "binaryen@$version"
fi

for wasm in "$dist"/*.wasm; do
  [ -e "$wasm" ] || continue
  before=$(stat -c %s "$wasm")
  # The features rustc 1.95 enables by default for wasm32-unknown-unknown.
  node "$wasm_opt" -Oz \
    --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-multivalue \
    "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
  name=$(basename "$wasm")
  sri=$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha384-"+c.createHash("sha384").update(f.readFileSync(process.argv[1])).digest("base64"))' "$wasm")
  sed -i -E "s#(href=\"/$name\"[^>]*integrity=\")[^\"]*#\\1$sri#" "$dist/index.html"
  echo "optimize-wasm: $name $before -> $(stat -c %s "$wasm") bytes"
done
