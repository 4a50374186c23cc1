#!/usr/bin/env python3
"""check_go.py GO GOLDEN_DIR WORK_DIR [RPCGEN_C GEN_BIG] - the golden
.rpc.go files are Go as gofmt writes it and pass `go vet` (which
type-checks them). Files of one IDL package are checked together (base +
imp), each other file alone. With RPCGEN_C and GEN_BIG (gen-big.py), a
generated 2000-line .rpc file's Go output is checked the same way.
Exits 77 (skipped) when GO is empty or missing."""
import os
import shutil
import subprocess
import sys

# The Go packages to check: the files that form each one.
SETS = [['arith'], ['all'], ['common'], ['nopkg'], ['kinds'],
        ['base', 'imp']]


def main():
    go, golden, work = sys.argv[1], sys.argv[2], sys.argv[3]
    if not go or not os.path.exists(go):
        print('go not found: skipped')
        return 77
    gofmt = os.path.join(os.path.dirname(os.path.realpath(go)), 'gofmt')
    env = dict(os.environ, GO111MODULE='off', CGO_ENABLED='0',
               GOCACHE=os.environ.get('GOCACHE') or
               os.path.join(work, 'gocache'),
               GOPATH=os.path.join(work, 'gopath'), GOFLAGS='')
    bad = 0
    sets = [[os.path.join(golden, n + '.rpc.go') for n in names]
            for names in SETS]
    if len(sys.argv) > 5:
        rpcgen, gen_big = sys.argv[4], sys.argv[5]
        big_dir = os.path.join(work, 'big')
        shutil.rmtree(big_dir, ignore_errors=True)
        os.makedirs(big_dir)
        big = os.path.join(big_dir, 'big.rpc')
        with open(big, 'w') as f:
            subprocess.run([sys.executable, gen_big, '2000'], stdout=f,
                           check=True)
        subprocess.run([rpcgen, '--emit-go', '-o', big_dir, big],
                       check=True)
        sets.append([os.path.join(big_dir, 'big.rpc.go')])
    for files in sets:
        names = [os.path.basename(f)[:-len('.rpc.go')] for f in files]
        # go vet wants the files of one package in one folder of their own
        pkg_dir = os.path.join(work, 'pkg-' + '-'.join(names))
        shutil.rmtree(pkg_dir, ignore_errors=True)
        os.makedirs(pkg_dir)
        for f in files:
            shutil.copy(f, pkg_dir)
        local = [os.path.basename(f) for f in files]
        if os.path.exists(gofmt):
            r = subprocess.run([gofmt, '-l'] + local, cwd=pkg_dir, env=env,
                               capture_output=True, text=True)
            if r.returncode != 0 or r.stdout.strip():
                print('gofmt would change %s %s' % (local, r.stderr))
                bad += 1
        r = subprocess.run([go, 'vet'] + local, cwd=pkg_dir, env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            print('go vet %s failed:\n%s%s' % (local, r.stdout, r.stderr))
            bad += 1
        else:
            print('ok %s' % ' '.join(local))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
