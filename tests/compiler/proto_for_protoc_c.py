#!/usr/bin/env python3
"""proto_for_protoc_c.py IN.proto OUT.proto - rewrites proto3 `optional`
fields as one-field oneofs, which is how proto3 defines them and what
protoc-c 1.4.1 (which refuses `optional`) can compile. The wire bytes are
the same: a set field is sent even when it holds its zero value."""
import re
import sys

OPTIONAL = re.compile(r'^(\s*)optional\s+(\S+)\s+(\w+)\s*=\s*(\d+)\s*;\s*$')


def main():
    src, dst = sys.argv[1], sys.argv[2]
    out = []
    with open(src, encoding='utf-8') as f:
        for line in f:
            m = OPTIONAL.match(line)
            if m:
                ind, typ, name, num = m.groups()
                line = '%soneof _%s { %s %s = %s; }\n' % (ind, name, typ,
                                                          name, num)
            out.append(line)
    with open(dst, 'w', encoding='utf-8') as f:
        f.write(''.join(out))


if __name__ == '__main__':
    main()
