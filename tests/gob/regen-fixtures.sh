#!/bin/sh
# Regenerates the gob wire vectors in fixtures/ from Go's encoding/gob, via
# gobpeer.go (each case in a fresh Go process, as the tests expect).
#   tests/gob/regen-fixtures.sh
# Review the diff: Go's output for a case should only change with Go.
# maps.gob holds multi-entry maps, so its bytes vary with Go's map order.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOCACHE="$tmp/cache" GOPATH="$tmp/gopath" GO111MODULE=off GOFLAGS= \
	go build -o "$tmp/gobpeer" "$here/gobpeer.go"
for c in args everything zero maps optionals v2 nested replies iface \
	iface-calls iface-reply arrays; do
	"$tmp/gobpeer" write "$c" > "$here/fixtures/$c.gob"
done
