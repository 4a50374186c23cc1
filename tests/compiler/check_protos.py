#!/usr/bin/env python3
"""check_protos.py PROTOC_C GOLDEN_DIR - every golden .proto compiles with
protoc-c (proto3 `optional` rewritten as the equivalent one-field oneof,
as proto_for_protoc_c.py does, since protoc-c 1.4.1 refuses it)."""
import glob
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proto_for_protoc_c import OPTIONAL  # noqa: E402


def main():
    protoc_c, golden = sys.argv[1], sys.argv[2]
    protos = sorted(glob.glob(os.path.join(golden, '*.proto')))
    if not protos:
        print('no .proto files in', golden)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for p in protos:
            with open(p, encoding='utf-8') as f:
                lines = f.readlines()
            out = []
            for line in lines:
                m = OPTIONAL.match(line)
                if m:
                    ind, typ, name, num = m.groups()
                    line = '%soneof _%s { %s %s = %s; }\n' % (
                        ind, name, typ, name, num)
                out.append(line)
            with open(os.path.join(tmp, os.path.basename(p)), 'w',
                      encoding='utf-8') as f:
                f.write(''.join(out))
        failed = 0
        for p in protos:
            name = os.path.basename(p)
            r = subprocess.run([protoc_c, '--proto_path=' + tmp,
                                '--c_out=' + tmp, name],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print('%s: protoc-c failed:\n%s' % (name, r.stderr))
                failed += 1
            else:
                print('%s: ok' % name)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
