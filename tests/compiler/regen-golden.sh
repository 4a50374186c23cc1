#!/bin/sh
# regen-golden.sh BUILD_DIR - rewrites the expected outputs in golden/
# (<name>.rpc.h, <name>.rpc.c, <name>.proto and <name>.rpc.go for every
# golden/<name>.rpc)
# with the rpcgen-c of BUILD_DIR. Review the diff before committing it.
set -eu
build=${1:?usage: tests/compiler/regen-golden.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
ninja -C "$build" compiler/rpcgen-c >/dev/null
for f in "$here"/golden/*.rpc; do
	"$build/compiler/rpcgen-c" --emit-proto --emit-go -I "$here/golden" \
		-o "$here/golden" "$f"
done
git -C "$here" diff --stat -- golden || true
