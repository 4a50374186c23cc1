#!/usr/bin/env python3
"""test_rpccall.py - rpc-call driven as a user drives it.

    test_rpccall.py --rpc-call EXE --arith-server EXE --cserver EXE
                    --arith-idl FILE --interop-idl FILE [--goserver EXE]
                    [--only go]

Starts our servers (examples/arith's, protobuf; tests/interop's cserver,
gob and JSON-RPC) on free ports, runs rpc-call with arguments and standard
input, and asserts its standard output, standard error and exit status,
including hostile input (malformed JSON, wrong types, unknown methods) and
hostile servers (one that hangs up in the middle of a reply, one that
never answers). With --only go it runs the same commands against Go's
net/rpc (tests/interop/goserver.go) and our cserver and compares what
rpc-call prints; without --goserver that part exits 77 (SKIP).

Every process it starts is killed by pid at the end; every run of rpc-call
has a time limit.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

RUN_TIMEOUT = 30  # seconds, any single rpc-call run

procs = []  # every server process started, killed by pid at the end
failures = []
checks = 0


def fail(name, msg):
    failures.append("%s: %s" % (name, msg))
    print("FAIL %s: %s" % (name, msg), flush=True)


def check(name, cond, msg=""):
    global checks
    checks += 1
    if not cond:
        fail(name, msg or "assertion failed")
    return cond


def start(argv, stdin=subprocess.PIPE):
    """Starts a server that prints its addresses; returns (proc, lines up
    to "ready" or the first line)."""
    p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    return p


def read_lines_until(p, last, limit=10.0):
    lines = []
    deadline = time.time() + limit
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        line = line.strip()
        lines.append(line)
        if last(line):
            return lines
    raise RuntimeError("server %s did not start: %r" % (p.args[0], lines))


class Runner:
    def __init__(self, exe):
        self.exe = exe

    def run(self, args, stdin=None, timeout=RUN_TIMEOUT, binary=False):
        t0 = time.time()
        r = subprocess.run([self.exe] + args, input=stdin,
                           capture_output=True, timeout=timeout,
                           text=not binary)
        r.elapsed = time.time() - t0
        return r


def expect(name, r, code, out=None, err=None, out_re=None, err_re=None):
    ok = check(name, r.returncode == code,
               "exit %d, want %d (stdout %r, stderr %r)" %
               (r.returncode, code, r.stdout, r.stderr))
    if out is not None:
        ok &= check(name, r.stdout == out,
                    "stdout %r, want %r" % (r.stdout, out))
    if err is not None:
        ok &= check(name, r.stderr == err,
                    "stderr %r, want %r" % (r.stderr, err))
    if out_re is not None:
        ok &= check(name, re.search(out_re, r.stdout, re.S) is not None,
                    "stdout %r does not match %r" % (r.stdout, out_re))
    if err_re is not None:
        ok &= check(name, re.search(err_re, r.stderr, re.S) is not None,
                    "stderr %r does not match %r" % (r.stderr, err_re))
    return ok


# ---- hostile peers -----------------------------------------------------------

class FakeServer:
    """Listens on 127.0.0.1:0; for each connection reads what the client
    sends, then acts: 'hangup' writes the first bytes of a native frame and
    closes; 'silent' never answers; 'proxy' forwards to target and counts
    connections."""

    def __init__(self, mode, target=None):
        self.mode = mode
        self.target = target
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def serve(self, c):
        try:
            if self.mode == "proxy":
                up = socket.create_connection(self.target)
                self.conns.append(up)
                threading.Thread(target=self.pipe, args=(up, c),
                                 daemon=True).start()
                self.pipe(c, up)
                return
            c.recv(65536)
            if self.mode == "hangup":
                # a frame that promises 100 bytes, then 3 of them
                c.sendall(bytes([0, 0, 0, 100, 12, 65, 114]))
                c.close()
            else:  # silent: hold the connection until closed
                while c.recv(65536):
                    pass
        except OSError:
            pass

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


# ---- the suites ----------------------------------------------------------------

EVERYTHING = ('{"Flag":true,"I":-5,"L":9007199254740993,"U":4000000000,'
              '"UL":18446744073709551615,"F":1.5,"D":0.1,'
              '"Name":"h\\u00e9llo <x>","Blob":"AAEC","Kind":2,'
              '"Inner":{"A":1,"B":2},"Items":[{"A":3,"B":4}],"Nums":[1,2],'
              '"Tags":["a"],"Weights":[0.5],"Counts":{"b":2,"a":1},'
              '"Names":{"5":"five"},"Places":{"p":{"A":1,"B":0}},'
              '"Maybe":7,"Note":"n","Ratio":null}')
# as Go's encoding/json prints it: keys in field order, map keys sorted,
# "<" and ">" escaped, 64-bit integers exact
EVERYTHING_OUT = ('{"Flag":true,"I":-5,"L":9007199254740993,"U":4000000000,'
                  '"UL":18446744073709551615,"F":1.5,"D":0.1,'
                  '"Name":"h\u00e9llo \\u003cx\\u003e","Blob":"AAEC",'
                  '"Kind":2,"Inner":{"A":1,"B":2},"Items":[{"A":3,"B":4}],'
                  '"Nums":[1,2],"Tags":["a"],"Weights":[0.5],'
                  '"Counts":{"a":1,"b":2},"Names":{"5":"five"},'
                  '"Places":{"p":{"A":1,"B":0}},"Maybe":7,"Note":"n",'
                  '"Ratio":null}\n')


def suite_usage(rc, a):
    expect("usage: nothing", rc.run([]), 2,
           err_re=r"^rpc-call: --idl FILE.rpc is required\n")
    r = rc.run(["--help"])
    expect("usage: help", r, 0, out_re=r"^Usage: rpc-call ")
    expect("usage: unknown option", rc.run(["--bogus"]), 2,
           err_re=r"^rpc-call: unknown option '--bogus'\n")
    expect("usage: bad codec",
           rc.run(["--idl", a.arith_idl, "--codec", "xml", "x:1", "A.B"]),
           2, err_re=r"^rpc-call: unknown codec 'xml'")
    expect("usage: bad repeat",
           rc.run(["--idl", a.arith_idl, "--repeat", "0", "x:1", "A.B"]),
           2, err_re=r"^rpc-call: --repeat wants a count")
    expect("usage: list without idl or http", rc.run(["--list"]), 2,
           err_re=r"^rpc-call: --list without --idl needs --http")
    expect("usage: missing method", rc.run(["--idl", a.arith_idl, "x:1"]),
           2, err_re=r"want ADDRESS Service.Method")


def suite_idl(rc, a, tmp):
    r = rc.run(["--idl", a.arith_idl, "--list"])
    expect("list", r, 0, out_re=r"^// Arith does sums, products and "
           r"divisions\.\nservice Arith \{\n    // Multiply sets \*reply to "
           r"A \* B\.\n    Multiply\(Args args, int64 \*reply\);\n")
    check("list: every method", all(
        m in r.stdout for m in ("Divide(Args args, Quotient *reply);",
                                "Add(Args args, int64 *reply);")))
    r = rc.run(["--idl", a.interop_idl, "--describe", "Everything"])
    expect("describe struct", r, 0, out_re=r"^// Every type of the language"
           r"\.\nstruct Everything \{\n    bool Flag = 1;\n")
    check("describe: containers and optionals",
          "    map<string, Args> Places = 18;\n" in r.stdout and
          "    optional double Ratio = 21;\n" in r.stdout, r.stdout)
    r = rc.run(["--idl", a.interop_idl, "--describe", "interop.Op"])
    expect("describe enum", r, 0, out_re=r"enum Op \{\n    ADD = 0;\n"
           r"    MUL = 1;\n    SUB = 2;\n    NEG = -1;\n\}\n$")
    expect("describe unknown",
           rc.run(["--idl", a.arith_idl, "--describe", "Nope"]), 2,
           out="", err="rpc-call: no struct or enum named Nope\n")
    bad = os.path.join(tmp, "bad.rpc")
    with open(bad, "w") as f:
        f.write("package bad;\nstruct A { int64 X; }\n"
                "service S { M(A a, Missing *r); }\n")
    r = rc.run(["--idl", bad, "--list"])
    expect("idl error", r, 2, out="",
           err_re=r"bad\.rpc:3:\d+: error: .*Missing")
    expect("idl missing file", rc.run(["--idl", os.path.join(
        tmp, "none.rpc"), "--list"]), 2, out="", err_re=r"none\.rpc")


def suite_protobuf(rc, a, tmp):
    srv = start([a.arith_server])
    line = read_lines_until(srv, lambda l: l.startswith("listening"))[-1]
    _, addr, haddr = line.split()
    idl = ["--idl", a.arith_idl]

    expect("call", rc.run(idl + [addr, "Arith.Multiply", '{"A":7,"B":8}']),
           0, out="56\n", err="")
    expect("call struct reply",
           rc.run(idl + [addr, "Arith.Divide", '{"A":7,"B":2}']), 0,
           out='{"Quo":3,"Rem":1}\n', err="")
    expect("call: keys fold case as Go's",
           rc.run(idl + [addr, "Arith.Add", '{"a":1,"b":2}']), 0, out="3\n")
    expect("server error",
           rc.run(idl + [addr, "Arith.Divide", '{"A":7,"B":0}']), 1,
           out="", err="rpc-call: server error: divide by zero\n")
    expect("http", rc.run(idl + ["--http", haddr, "Arith.Divide",
                                 '{"A":9,"B":4}']), 0,
           out='{"Quo":2,"Rem":1}\n')
    expect("http path", rc.run(idl + ["--http", "/_goRPC_", haddr,
                                      "Arith.Add", '{"A":9,"B":4}']), 0,
           out="13\n")
    expect("http wrong path", rc.run(idl + ["--http", "/nope", haddr,
                                            "Arith.Add", "{}"]), 2, out="",
           err_re=r"^rpc-call: tcp:127.0.0.1:\d+: rpc: dial-http .*404")
    argfile = os.path.join(tmp, "args.json")
    with open(argfile, "w") as f:
        f.write('{\n  "A": 6,\n  "B": 7\n}\n')
    expect("@file", rc.run(idl + [addr, "Arith.Multiply", "@" + argfile]),
           0, out="42\n")
    expect("@missing", rc.run(idl + [addr, "Arith.Multiply", "@" +
                                     argfile + ".none"]), 2, out="",
           err_re=r"^rpc-call: .*args\.json\.none: No such file")
    expect("stdin -", rc.run(idl + [addr, "Arith.Add", "-"],
                             stdin='{"A":1,"B":1}'), 0, out="2\n")
    expect("no input", rc.run(idl + [addr, "Arith.Add"], stdin=""), 2,
           out="", err_re=r"^rpc-call: no JSON argument")

    # several values on stdin (one spread over lines) share one connection
    proxy = FakeServer("proxy", target=("127.0.0.1",
                                        int(addr.rsplit(":", 1)[1])))
    r = rc.run(idl + [proxy.addr, "Arith.Add"],
               stdin='{"A":1,"B":2}\n{"A":3,\n "B":4}\n\n{"A":5,"B":6}\n')
    expect("stdin stream", r, 0, out="3\n7\n11\n", err="")
    check("stdin stream: one connection", proxy.accepted == 1,
          "%d connections" % proxy.accepted)
    r = rc.run(idl + [proxy.addr, "Arith.Divide"],
               stdin='{"A":1,"B":0}\n{"A":4,"B":2}\n')
    expect("stdin stream: a server error does not stop it", r, 1,
           out='{"Quo":2,"Rem":0}\n',
           err="rpc-call: server error: divide by zero\n")
    r = rc.run(idl + [proxy.addr, "Arith.Add"],
               stdin='{"A":1,"B":2}\n{"A":x}\n{"A":5,"B":6}\n')
    expect("stdin stream: bad value stops it", r, 2, out="3\n",
           err_re=r"^rpc-call: bad stdin value 2 \(Args\): invalid "
           r"character 'x' looking for beginning of value")
    proxy.close()

    # hostile JSON: each names what is wrong and where
    bad = [
        ('{"A":1,', r"unexpected end of JSON input"),
        ('{"A":1}}', r"invalid character '\}' after top-level value at "
         r"offset 8"),
        ('{"A":}', r"invalid character '\}' looking for beginning of "
         r"value at offset 6"),
        ('{"A":"x","B":1}', r'A: want int64, got "x"'),
        ('{"A":1.5}', r"A: want int64, got 1.5"),
        ('{"A":99999999999999999999}',
         r"A: want int64, got 99999999999999999999"),
        ('{"A":1,"C":2}', r'unknown field "C" in Args'),
        ('[1,2]', r"want Args \(an object\), got array"),
        ('', r"unexpected end of JSON input"),
    ]
    for text, want in bad:
        r = rc.run(idl + [addr, "Arith.Add", text])
        expect("bad json %r" % text, r, 2, out="",
               err_re=r"^rpc-call: bad argument \(Args\): " + want + r"\n$")

    # methods the IDL lacks, and methods the server lacks
    expect("unknown method", rc.run(idl + [addr, "Arith.Nope", "{}"]), 2,
           out="", err_re=r"^rpc-call: .*arith\.rpc has no method "
           r"Arith\.Nope \(try --list\)\n$")
    more = os.path.join(tmp, "more.rpc")
    with open(a.arith_idl) as f:
        text = f.read()
    with open(more, "w") as f:
        f.write(text.replace("service Arith {",
                             "service Arith {\n    Nope(Args a, int64 *r);"))
    expect("method the server lacks",
           rc.run(["--idl", more, addr, "Arith.Nope", "{}"]), 1, out="",
           err="rpc-call: server error: rpc: can't find method "
           "Arith.Nope\n")

    # --raw: the reply body as the wire has it (protobuf: Quo=2, Rem=1)
    r = rc.run(idl + ["--raw", addr, "Arith.Divide", '{"A":9,"B":4}'],
               binary=True)
    expect("raw", r, 0, out=bytes([0x08, 0x02, 0x10, 0x01]))
    r = rc.run(idl + ["--raw", addr, "Arith.Divide"], binary=True,
               stdin=b'{"A":9,"B":4}\n{"A":1,"B":0}\n{"A":8,"B":3}\n')
    expect("raw: stdin, a failed call prints nothing", r, 1,
           out=bytes([0x08, 0x02, 0x10, 0x01, 0x08, 0x02, 0x10, 0x02]),
           err=b"rpc-call: server error: divide by zero\n")

    # load: one reply printed, a summary on stderr
    r = rc.run(idl + ["--repeat", "200", "--concurrency", "4", addr,
                      "Arith.Multiply", '{"A":3,"B":4}'])
    expect("repeat", r, 0, out="12\n",
           err_re=r"^rpc-call: 200 calls, 0 errors, concurrency 4, "
           r"[0-9.]+ s, \d+ calls/s, p50 [0-9.]+ ms, p99 [0-9.]+ ms, "
           r"max [0-9.]+ ms\n$")
    r = rc.run(idl + ["--repeat", "20", addr, "Arith.Divide",
                      '{"A":3,"B":0}'])
    expect("repeat: server errors", r, 1, out="",
           err_re=r"^rpc-call: server error \(20 of 20 calls\): divide by "
           r"zero\nrpc-call: 20 calls, 20 errors, concurrency 1, ")

    # the debug page as JSON, and --list read from it
    r = rc.run([haddr, "--list", "--http"])  # the options after ADDRESS
    expect("list from the server", r, 0,
           out_re=r"^service Arith\n    Arith\.Add\(Args, \*int64\)  calls "
           r"\d+ errors 0 .*\n    Arith\.Divide\(Args, \*Quotient\)  calls "
           r"\d+ errors \d+ in-flight 0 p50 [0-9.]+ ms p99 [0-9.]+ ms\n")
    m = re.search(r"Arith\.Multiply\(Args, \*int64\)  calls (\d+)", r.stdout)
    check("list from the server: counts", m and int(m.group(1)) == 202,
          r.stdout)
    m = re.search(r"Arith\.Divide\(Args, \*Quotient\)  calls (\d+) errors "
                  r"(\d+)", r.stdout)
    check("list from the server: errors", m and m.group(2) == "23" and
          int(m.group(1)) > 23, r.stdout)
    check("list from the server: traffic", re.search(
        r"\nconnections 1, bytes in \d{4,}, bytes out \d{4,}\n$", r.stdout),
        r.stdout)
    host = haddr.split(":", 1)[1]
    for path in ("/debug/rpc?format=json", "/debug/rpc.json"):
        with urllib.request.urlopen("http://%s%s" % (host, path),
                                    timeout=10) as resp:
            check("debug json content type",
                  resp.headers["Content-Type"] == "application/json")
            page = json.loads(resp.read())
        svc = page["services"][0]
        check("debug json", svc["name"] == "Arith" and
              [m["name"] for m in svc["methods"]] ==
              ["Add", "Divide", "Multiply"] and
              svc["methods"][1]["args"] == "Args" and
              svc["methods"][1]["reply"] == "Quotient" and
              svc["methods"][1]["errors"] == 23 and
              page["connections"] >= 1, json.dumps(page))
        # every call so far crossed the wire: a frame each way is > 8 bytes
        check("debug json: bytes", page["bytes_in"] > 8 * 238 and
              page["bytes_out"] > 8 * 238, json.dumps(page))
    with urllib.request.urlopen("http://%s/debug/rpc" % host,
                                timeout=10) as resp:
        html = resp.read().decode()
    check("debug html: Go's columns first",
          "<th align=center>Method</th><th align=center>Calls</th>"
          "<th align=center>Errors</th>" in html and
          "<td align=left font=fixed>Multiply(Args, *int64) error</td>\n"
          "\t\t\t<td align=center>202</td>\n\t\t\t<td align=center>0</td>"
          in html, html)

    # unix sockets
    sock = os.path.join(tmp, "arith.sock")
    usrv = start([a.arith_server, "unix:" + sock])
    read_lines_until(usrv, lambda l: l.startswith("listening"))
    expect("unix", rc.run(idl + ["unix:" + sock, "Arith.Add",
                                 '{"A":2,"B":3}']), 0, out="5\n")

    # transport failures
    expect("connection refused",
           rc.run(idl + ["127.0.0.1:1", "Arith.Add", "{}"]), 2, out="",
           err_re=r"^rpc-call: 127\.0\.0\.1:1: .*refused")
    hang = FakeServer("hangup")
    expect("hang-up mid-reply",
           rc.run(idl + [hang.addr, "Arith.Add", '{"A":1}']), 2, out="",
           err="rpc-call: Arith.Add: unexpected EOF\n")
    hang.close()
    silent = FakeServer("silent")
    r = rc.run(idl + ["--timeout", "300", silent.addr, "Arith.Add", "{}"])
    expect("timeout", r, 2, out="", err="rpc-call: timeout after 300 ms\n")
    check("timeout: on time", 0.25 < r.elapsed < 5, "%.2f s" % r.elapsed)
    silent.close()


def interop_addrs(p):
    lines = read_lines_until(p, lambda l: l == "ready")
    return dict(l.split() for l in lines if " " in l)


def suite_interop(rc, a):
    srv = start([a.cserver])
    addrs = interop_addrs(srv)
    idl = ["--idl", a.interop_idl]
    for codec in ("gob", "json"):
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Echo.Echo",
                          EVERYTHING])
        expect("echo everything " + codec, r, 0, out=EVERYTHING_OUT, err="")
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Echo.Echo", "{}"])
        expect("echo zero " + codec, r, 0, out_re=r'^\{"Flag":false,"I":0,'
               r'.*"Name":"","Blob":null,.*"Items":null,.*"Maybe":null,'
               r'"Note":null,"Ratio":null\}\n$')
    for codec in ("gob", "json"):
        # a oneof: each member kind, none, a member set to zero (gob
        # leaves it out as Go's gob does), two members (refused before
        # sending: the JSON decoder's rule)
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Picker.Echo",
                          PICK])
        expect("oneof string " + codec, r, 0, out=PICK_OUT, err="")
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Picker.Echo",
                          '{"N":-7}'])
        expect("oneof int64 " + codec, r, 0,
               out='{"Tag":"","N":-7,"S":null,"A":null,"B":null}\n')
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Picker.Echo",
                          '{"A":{"A":1,"B":2}}'])
        expect("oneof struct " + codec, r, 0,
               out='{"Tag":"","N":null,"S":null,"A":{"A":1,"B":2},'
               '"B":null}\n')
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Picker.Echo",
                          '{"B":"AAE="}'])
        expect("oneof bytes " + codec, r, 0,
               out='{"Tag":"","N":null,"S":null,"A":null,"B":"AAE="}\n')
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Picker.Echo",
                          '{}'])
        expect("oneof none " + codec, r, 0,
               out='{"Tag":"","N":null,"S":null,"A":null,"B":null}\n')
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Picker.Echo",
                          '{"N":0}'])
        expect("oneof zero " + codec, r, 0,
               out='{"Tag":"","N":%s,"S":null,"A":null,"B":null}\n' %
               ("null" if codec == "gob" else "0"))
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Picker.Echo",
                          '{"N":1,"S":"x"}'])
        expect("oneof two members " + codec, r, 2, out="",
               err='rpc-call: bad argument (Pick): json: field Pick.S: '
               'another member of its oneof (N) is set\n')
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Arrays.Echo",
                          FIXED])
        expect("echo arrays " + codec, r, 0, out=FIXED_OUT, err="")
        r = rc.run(idl + ["--codec", codec, addrs[codec], "Arrays.Echo",
                          "{}"])
        expect("echo zero arrays " + codec, r, 0,
               out='{"Pair":[0,0],"Names":["",""],"Two":[{"A":0,"B":0},'
               '{"A":0,"B":0}],"Ops":[0,0,0],"Blob":[""],"D":[0,0],'
               '"Tail":0}\n', err="")
        r = rc.run(idl + ["--codec", codec, addrs[codec],
                          "BuiltinTypes.Array", '{"A":3,"B":-4}'])
        expect("array reply " + codec, r, 0, out="[3,-4]\n", err="")
    r = rc.run(idl + ["--describe", "Pick"])
    expect("describe oneof", r, 0, out_re=r"struct Pick \{\n    string Tag = 1;"
           r"\n    oneof choice \{\n        int64 N = 2;\n"
           r"        string S = 3;\n        Args A = 4;\n"
           r"        bytes B = 5;\n    \}\n\}\n$")
    r = rc.run(idl + ["--codec", "gob", addrs["gob"], "Arrays.Echo",
                      '{"Pair":[1,2,3]}'])
    expect("array of the wrong length", r, 2, out="",
           err="rpc-call: bad argument (Fixed): rpc: field Fixed.Pair has "
           "3 elements; its array type has 2\n")
    r = rc.run(idl + ["--codec", "gob", "--http", addrs["http"],
                      "BuiltinTypes.Map", '{"A":1,"B":2}'])
    expect("gob over http, map reply", r, 0, out='{"1":2}\n')
    r = rc.run(idl + ["--codec", "gob", "--http", "/foo", addrs["httppath"],
                      "newServer.Arith.Add", '{"A":1,"B":2}'])
    expect("service registered under another name", r, 0, out='{"C":3}\n')
    r = rc.run(idl + ["--codec", "json", addrs["json"], "Arith.Scan",
                      '"42"'])
    expect("string argument", r, 0, out='{"C":42}\n')
    r = rc.run(idl + ["--codec", "json", addrs["json"], "Arith.String",
                      '{"A":1,"B":2}'])
    expect("string reply", r, 0, out='"1+2=3"\n')
    r = rc.run(idl + ["--codec", "gob", addrs["gob"], "Echo.Echo",
                      '{"Items":[{"A":1},{"A":true}]}'])
    expect("bad list element", r, 2, out="",
           err='rpc-call: bad argument (Everything): Items[1].A: want '
           'int64, got true\n')
    r = rc.run(idl + ["--codec", "gob", addrs["gob"], "Echo.Echo",
                      '{"Items":[null,{"A":1},null,{"B":"x"}]}'])
    expect("bad list element after nulls", r, 2, out="",
           err='rpc-call: bad argument (Everything): Items[3].B: want '
           'int64, got "x"\n')
    r = rc.run(idl + ["--codec", "gob", addrs["gob"], "Echo.Echo",
                      '{"Inner":{"A":[1]}}'])
    expect("bad nested field", r, 2, out="",
           err='rpc-call: bad argument (Everything): Inner.A: want '
           'int64, got array\n')
    r = rc.run(idl + ["--codec", "gob", addrs["gob"], "Echo.Echo",
                      '{"Counts":{"a":1,"b":"z"}}'])
    expect("bad map value", r, 2, out="",
           err='rpc-call: bad argument (Everything): Counts[b]: want int64, '
           'got "z"\n')
    r = rc.run(idl + ["--codec", "gob", addrs["gob"], "Echo.Echo",
                      '{"Blob":"%%%"}'])
    expect("bad base64", r, 2, out="", err_re=r"illegal base64 data")
    r = rc.run(idl + ["--codec", "gob", "--timeout", "200", addrs["gob"],
                      "Arith.SleepMilli", '{"A":5000}'])
    expect("timeout on a slow method", r, 2, out="",
           err="rpc-call: timeout after 200 ms\n")

    # the debug page's new counters: handler latency and calls in flight
    r = rc.run(idl + ["--codec", "gob", "--repeat", "4", addrs["gob"],
                      "Arith.SleepMilli", '{"A":50}'])
    expect("sleep 50 ms", r, 0, out='{"C":0}\n')
    slow = subprocess.Popen([rc.exe] + idl + [
        "--codec", "gob", addrs["gob"], "net.rpc.Arith.SleepMilli", '{"A":1500}'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(slow)
    host = addrs["http"]
    # look while the slow call runs (a loaded machine may start it late)
    while True:
        with urllib.request.urlopen("http://%s/debug/rpc?format=json" %
                                    host, timeout=10) as resp:
            page = json.loads(resp.read())
        if slow.poll() is not None or any(
                m["in_flight"] > 0 for sv in page["services"]
                for m in sv["methods"] if sv["name"] == "net.rpc.Arith"):
            break
        time.sleep(0.05)
    out, err = slow.communicate(timeout=RUN_TIMEOUT)
    check("slow call", slow.returncode == 0 and out == '{"C":0}\n', err)
    methods = {"%s.%s" % (sv["name"], m["name"]): m
               for sv in page["services"] for m in sv["methods"]}
    sm = methods["Arith.SleepMilli"]
    # 4 calls of 50 ms and the one of 5000 ms cut short by the client
    # (still running on the server, or finished: 5 calls either way)
    check("debug json: calls", sm["calls"] == 5, json.dumps(sm))
    check("debug json: p50 of 50 ms calls", 40 <= sm["p50_ms"] <= 70,
          json.dumps(sm))
    check("debug json: in flight", methods["net.rpc.Arith.SleepMilli"]
          ["in_flight"] == 1 and methods["Arith.Add"]["in_flight"] == 0,
          json.dumps(page))
    check("debug json: errors", methods["Arith.Error"]["errors"] == 0 and
          methods["Arith.Div"]["errors"] == 0, json.dumps(page))
    r = rc.run(idl + ["--codec", "gob", addrs["gob"], "Arith.Error",
                      '{}'])
    expect("server error from a handler", r, 1, out="",
           err="rpc-call: server error: ERROR\n")
    r = rc.run(["--list", "--http", host])
    expect("list from the server: errors", r, 0,
           out_re=r"    Arith\.Error\(Args, \*Reply\)  calls 1 errors 1 ")

    r = rc.run(idl + ["--codec", "gob", "--repeat", "15", "--progress",
                      addrs["gob"], "Arith.SleepMilli", '{"A":100}'],
               binary=True)
    r.stdout, r.stderr = r.stdout.decode(), r.stderr.decode()
    expect("progress", r, 0, out='{"C":0}\n',
           err_re=r"^\rrpc-call: \d+/15 calls, 0 errors, [0-9.]+ s"
           r".*\nrpc-call: 15 calls, 0 errors, concurrency 1, ")
    r = rc.run(idl + ["--codec", "gob", "--repeat", "12", addrs["gob"],
                      "Arith.SleepMilli", '{"A":100}'], binary=True)
    check("no progress without a terminal or --progress",
          r.returncode == 0 and b"\r" not in r.stderr and
          r.stderr.startswith(b"rpc-call: 12 calls, 0 errors"), r.stderr)


# a struct of arrays (interop.rpc: Fixed) and how rpc-call prints it
FIXED = ('{"Pair":[-9223372036854775808,9223372036854775807],'
         '"Names":["h\u00e9llo",""],"Two":[{"A":1,"B":-2},null],'
         '"Ops":[-1,0,2],"Blob":["AP8="],"D":[0.5,-1e300],"Tail":42}')
FIXED_OUT = ('{"Pair":[-9223372036854775808,9223372036854775807],'
             '"Names":["h\u00e9llo",""],"Two":[{"A":1,"B":-2},'
             '{"A":0,"B":0}],"Ops":[-1,0,2],"Blob":["AP8="],'
             '"D":[0.5,-1e+300],"Tail":42}\n')

# the commands compared between Go's net/rpc and ours, per listener
# a oneof: one member set, as Go's struct of pointers prints it
PICK = '{"Tag":"t","S":"x"}'
PICK_OUT = '{"Tag":"t","N":null,"S":"x","A":null,"B":null}\n'

GO_CASES = [
    ("gob", ["Arith.Add", '{"A":1,"B":2}']),
    ("gob", ["Arith.Div", '{"A":1,"B":0}']),
    ("gob", ["Arith.Error", '{"A":1,"B":0}']),
    ("gob", ["Arith.String", '{"A":3,"B":4}']),
    ("gob", ["Arith.Scan", '"17"']),
    ("gob", ["Arith.Scan", '"x"']),
    ("gob", ["Arith.Nope", '{}']),
    ("json", ["Arith.Nope", '{}']),
    ("gob", ["net.rpc.Arith.Mul", '{"A":6,"B":7}']),
    ("gob", ["Embed.Exported", '{"A":6,"B":7}']),
    ("gob", ["BuiltinTypes.Map", '{"A":6,"B":7}']),
    ("gob", ["BuiltinTypes.Slice", '{"A":6,"B":7}']),
    ("gob", ["BuiltinTypes.Array", '{"A":6,"B":7}']),
    ("gob", ["Echo.Echo", EVERYTHING]),
    ("gob", ["Echo.Echo", "{}"]),
    ("gob", ["Arrays.Echo", FIXED]),
    ("json", ["Arrays.Echo", FIXED]),
    ("json", ["Arith.Add", '{"A":1,"B":2}']),
    ("json", ["Arith.Div", '{"A":1,"B":0}']),
    ("json", ["Arith.String", '{"A":3,"B":4}']),
    ("json", ["BuiltinTypes.Map", '{"A":6,"B":7}']),
    ("json", ["BuiltinTypes.Array", '{"A":6,"B":7}']),
    ("http", ["BuiltinTypes.Array", '{"A":-6}']),
    ("json", ["Echo.Echo", EVERYTHING]),
    ("json", ["Echo.Echo", "{}"]),
    ("http", ["Arith.Mul", '{"A":6,"B":7}']),
    ("http", ["Echo.Echo", EVERYTHING]),
    ("gob", ["Picker.Echo", PICK]),
    ("gob", ["Picker.Echo", '{"Tag":"t","A":{"A":1}}']),
    ("gob", ["Picker.Echo", '{"N":0}']),
    ("json", ["Picker.Echo", PICK]),
    ("json", ["Picker.Echo", '{"B":"AAE="}']),
    ("json", ["Picker.Echo", '{"N":0}']),
    ("json", ["Picker.Echo", "{}"]),
]


def suite_go(rc, a, tmp):
    gsrv = start([a.goserver])
    go = interop_addrs(gsrv)
    csrv = start([a.cserver])
    c = interop_addrs(csrv)
    # interop.rpc plus a method neither server has
    more = os.path.join(tmp, "more.rpc")
    with open(a.interop_idl) as f:
        text = f.read()
    with open(more, "w") as f:
        f.write(text.replace("service Arith {",
                             "service Arith {\n    Nope(Args a, Reply *r);"))
    idl = ["--idl", more]
    for listener, args in GO_CASES:
        codec = "json" if listener == "json" else "gob"
        extra = ["--http"] if listener == "http" else []
        cmd = idl + ["--codec", codec] + extra
        rg = rc.run(cmd + [go[listener]] + args)
        rcs = rc.run(cmd + [c[listener]] + args)
        name = "go vs c %s %s" % (listener, args[0])
        check(name, (rg.returncode, rg.stdout, rg.stderr) ==
              (rcs.returncode, rcs.stdout, rcs.stderr),
              "Go: %r %r %r; ours: %r %r %r" %
              (rg.returncode, rg.stdout, rg.stderr,
               rcs.returncode, rcs.stdout, rcs.stderr))
        check(name + " ran", rg.returncode in (0, 1), rg.stderr)
    # what rpc-call prints is what Go's encoding/json prints: Go's
    # jsonrpc server marshals its reply with it, and --raw shows those bytes
    for method, arg in (("Echo.Echo", EVERYTHING),
                        ("Echo.Echo", '{"Weights":[1e21,1e-7,-0.0],'
                         '"Name":"a&b\\u2028","Names":{"-1":"m","5":"f"}}'),
                        ("Echo.Echo", "{}"),
                        ("Picker.Echo", PICK),
                        ("Picker.Echo", '{"A":{"B":2},"N":null}'),
                        ("Picker.Echo", "{}"),
                        ("BuiltinTypes.Map", '{"A":-3,"B":4}'),
                        ("BuiltinTypes.Slice", '{"A":1}'),
                        ("BuiltinTypes.Array", '{"A":-3,"B":4}'),
                        ("BuiltinTypes.Array", '{}'),
                        ("Arith.String", '{"A":1,"B":2}')):
        raw = rc.run(idl + ["--codec", "json", "--raw", go["json"], method,
                            arg])
        ours = rc.run(idl + ["--codec", "json", go["json"], method, arg])
        check("go: json.Marshal %s %s" % (method, arg),
              raw.returncode == 0 and ours.returncode == 0 and
              ours.stdout == raw.stdout + "\n",
              "Go: %r, rpc-call: %r" % (raw.stdout, ours.stdout))
    check("go: echo exact",
          rc.run(idl + ["--codec", "gob", go["gob"], "Echo.Echo",
                        EVERYTHING]).stdout == EVERYTHING_OUT)
    # Go's server has only the HTML debug page; --list reads that too
    r = rc.run(["--list", "--http", go["http"]])
    expect("go: list from the HTML debug page", r, 0,
           out_re=r"service Arith\n    Arith\.Add\(main\.Args, "
           r"\*main\.Reply\) error  calls \d+\n")
    check("go: list shows the builtin types",
          "    BuiltinTypes.Slice(*main.Args, *[]int) error  calls" in
          r.stdout and
          "    BuiltinTypes.Array(*main.Args, *[2]int) error  calls" in
          r.stdout, r.stdout)


def suite_tls(rc, a, tmp):
    """rpc-call over TLS against examples/arith's server started with
    --tls: verification by CA and name, each failure with exit 2 and the
    reason, --insecure, HTTP CONNECT over TLS."""
    certs = os.path.join(tmp, "certs")
    os.mkdir(certs)
    subprocess.run([a.tls_certs, certs], check=True)
    srv = start([a.arith_server, "--tls", os.path.join(certs, "server.pem"),
                 os.path.join(certs, "server.key")])
    line = read_lines_until(srv, lambda l: l.startswith("listening"))[-1]
    _, addr, haddr = line.split()
    check("tls listener address", addr.startswith("tls:127.0.0.1:"), addr)
    idl = ["--idl", a.arith_idl]
    ca = ["--ca", os.path.join(certs, "ca.pem")]
    expect("tls call", rc.run(idl + ca + [addr, "Arith.Multiply",
                                          '{"A":6,"B":7}']), 0, out="42\n", err="")
    expect("tls server name",
           rc.run(idl + ca + ["--server-name", "localhost", addr,
                              "Arith.Multiply", '{"A":2,"B":3}']), 0, out="6\n")
    expect("tls http", rc.run(idl + ca + ["--http", haddr, "Arith.Divide",
                                          '{"A":9,"B":4}']), 0,
           out='{"Quo":2,"Rem":1}\n')
    expect("tls untrusted (system CAs)",
           rc.run(idl + [addr, "Arith.Multiply", '{"A":1,"B":1}']), 2,
           out="", err_re=r"certificate verify failed")
    expect("tls wrong name",
           rc.run(idl + ca + ["--server-name", "other.example", addr,
                              "Arith.Multiply", '{"A":1,"B":1}']), 2,
           out="", err_re=r"hostname mismatch")
    expect("tls insecure", rc.run(idl + ["--insecure", addr, "Arith.Multiply",
                                         '{"A":3,"B":3}']), 0, out="9\n")
    expect("tls missing ca file",
           rc.run(idl + ["--ca", os.path.join(certs, "none.pem"), addr,
                         "Arith.Multiply", '{"A":1,"B":1}']), 2,
           out="", err_re=r"rpc-call: .*CA")
    if a.arith_client:
        # the example's own TLS mode (examples/arith)
        r = subprocess.run([a.arith_client, "--tls", os.path.join(certs, "ca.pem"),
                            addr, haddr], capture_output=True, text=True,
                           timeout=60)
        expect("example client --tls", r, 0,
               out_re=r"Arith\.Multiply\(7, 8\) = 56\n.*over HTTP CONNECT: "
                      r"Arith\.Multiply\(6, 9\) = 54\ndebug page: https://")
    # the debug page over TLS (--list without --idl reads it)
    r = rc.run(ca + ["--list", "--http", haddr])
    expect("tls list from the server", r, 0,
           out_re=r"^service Arith\n(    Arith\.\w+\(.*\n)+")
    m = re.search(r"Arith\.Multiply\(Args, \*int64\)  calls (\d+)", r.stdout)
    check("tls list: counts", m and int(m.group(1)) >= 3, r.stdout)
    expect("tls list untrusted (system CAs)",
           rc.run(["--list", "--http", haddr]), 2, out="",
           err_re=r"certificate verify failed")
    plain = "tcp:" + addr[len("tls:"):]
    expect("plain client on a tls port",
           rc.run(idl + [plain, "Arith.Multiply", '{"A":1,"B":1}']), 2,
           out="", err_re=r"TLS")


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--rpc-call", "--arith-server", "--cserver", "--arith-idl",
                "--interop-idl"):
        ap.add_argument(opt, required=True)
    ap.add_argument("--goserver", default="")
    ap.add_argument("--tls-certs", default="")
    ap.add_argument("--arith-client", default="")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    rc = Runner(a.rpc_call)
    tmp = tempfile.mkdtemp(prefix="rpccall-test-")
    try:
        if a.only == "go":
            if not a.goserver or not os.path.exists(a.goserver):
                print("SKIP: no Go toolchain, no Go server")
                return 77
            suite_go(rc, a, tmp)
        else:
            suite_usage(rc, a)
            suite_idl(rc, a, tmp)
            suite_protobuf(rc, a, tmp)
            suite_interop(rc, a)
            if a.tls_certs:
                suite_tls(rc, a, tmp)
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d checks, %d failed" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
