#!/usr/bin/env python3
"""check_symbols.py - librpc.so exports exactly what its installed headers
(rpc.h, rpc_codec.h) mark RPC_API.

usage: check_symbols.py NM LIBRPC_SO HEADER...

The public names are read from rpc.h: every declaration that starts with
RPC_API, the identifier before its '(' (a function) or before its ';' (an
object). The exported names are the defined dynamic symbols of the shared
library (`nm -D --defined-only`), less the reserved names that the toolchain
adds (leading underscore, e.g. __bss_start, sanitizer ODR indicators).
Prints both differences and exits 1 when the sets differ."""
import re
import subprocess
import sys


def declared(header):
    text = open(header).read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)  # comments out
    names = set()
    # a declaration runs from RPC_API to its first '(' or ';'
    for m in re.finditer(r"^\s*RPC_API\b([^(;]*)([(;])", text, flags=re.M):
        ident = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", m.group(1))
        if not ident:
            sys.exit(f"check_symbols: cannot read: {m.group(0)!r}")
        names.add(ident[-1])
    return names


def exported(nm, lib):
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        name = fields[2].split("@")[0]
        if not name.startswith("_"):
            names.add(name)
    return names


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    nm, lib, headers = sys.argv[1], sys.argv[2], sys.argv[3:]
    want = set()
    for header in headers:
        names = declared(header)
        if not names:
            sys.exit("check_symbols: no RPC_API declaration found in " + header)
        want |= names
    have = exported(nm, lib)
    extra = sorted(have - want)
    missing = sorted(want - have)
    for n in extra:
        print(f"exported but not RPC_API in the headers: {n}")
    for n in missing:
        print(f"RPC_API in the headers but not exported: {n}")
    print(f"{len(have)} exported, {len(want)} declared RPC_API")
    return 1 if extra or missing else 0


if __name__ == "__main__":
    sys.exit(main())
