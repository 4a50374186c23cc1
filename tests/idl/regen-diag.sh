#!/bin/sh
# regen-diag.sh BUILD_DIR - rewrite the IDL goldens from the current front
# end: tests/idl/diag/*.err (diagnostics) and tests/idl/all.ast (AST dump).
# Review the result with `git diff tests/idl` before committing.
set -eu
build=${1:?usage: regen-diag.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
ninja -C "$build" tests/idl/test_idl_diag tests/idl/idl-dump >/dev/null
"$build/tests/idl/test_idl_diag" --regen "$here/diag"
(cd "$here" && "$build/tests/idl/idl-dump" all.rpc > all.ast)
echo "wrote $here/all.ast"
