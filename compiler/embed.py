#!/usr/bin/env python3
"""embed.py OUT.c TEMPLATE... - writes the templates as a C table (embed.h)
so that the installed rpcgen-c needs no template files."""
import os
import sys


def c_string(text):
    out = []
    for line in text.splitlines(keepends=True):
        esc = (line.replace('\\', '\\\\').replace('"', '\\"')
               .replace('\t', '\\t').replace('\n', '\\n')
               .replace('?', '\\?'))
        out.append('\t"%s"' % esc)
    return '\n'.join(out) if out else '\t""'


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    parts = ['/* Written by compiler/embed.py from templates/. */\n'
             '#include "embed.h"\n\n'
             'const embed_template embed_templates[] = {\n']
    for p in sorted(paths, key=os.path.basename):
        with open(p, encoding='utf-8') as f:
            text = f.read()
        parts.append('\t{"%s",\n%s,\n\t %d},\n' % (
            os.path.basename(p), c_string(text), len(text.encode('utf-8'))))
    parts.append('};\n\nconst size_t embed_n_templates = %d;\n' % len(paths))
    with open(out, 'w', encoding='utf-8') as f:
        f.write(''.join(parts))


if __name__ == '__main__':
    main()
