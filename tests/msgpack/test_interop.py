#!/usr/bin/env python3
"""test_interop.py - python3-msgpack as an independent MessagePack-RPC
client of examples/msgpack's kv-server: every field kind, builtin
arguments and replies, server errors, an unknown method, a badly typed
argument and pipelined calls, each reply compared with what the spec and
docs/codecs.md say it must be.

    test_interop.py KV_SERVER

Starts KV_SERVER on 127.0.0.1 port 0 (under valgrind when
RPC_UNDER_VALGRIND is set, as `meson test --setup valgrind` sets it), reads
its "listening ADDRESS" line, and stops it by pid (SIGTERM) at the end: it
must exit 0. Exit 77 (SKIP) without the msgpack module.
"""
import os
import select
import signal
import socket
import subprocess
import sys
import time

try:
    import msgpack
except ImportError:
    print("SKIP: python3-msgpack is not installed")
    sys.exit(77)

failures = []


def check(what, got, want):
    if got != want:
        failures.append(what)
        print(f"FAIL {what}:\n  got  {got!r}\n  want {want!r}")
    else:
        print(f"ok   {what}")


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        self.msgid = 0

    def send(self, method, *params):
        self.msgid += 1
        self.sock.sendall(msgpack.packb([0, self.msgid, method, list(params)]))
        return self.msgid

    def reply(self):
        deadline = time.monotonic() + 10
        while True:
            for msg in self.unpacker:
                return msg
            if time.monotonic() > deadline:
                raise TimeoutError("no reply in 10 s")
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the server closed the connection")
            self.unpacker.feed(data)

    def call(self, method, *params):
        msgid = self.send(method, *params)
        r = self.reply()
        assert r[0] == 1 and r[1] == msgid, f"bad reply {r!r} to {msgid}"
        return r[2], r[3]


# What the server answers for an Item: every field that is not optional,
# at its zero value when not sent; optionals and a submessage only when set.
ZERO_ITEM = {
    "Key": "", "Data": b"", "From": 0, "Tags": [], "Counts": {},
    "Pinned": False, "Version": 0, "Weight": 0.0, "Ratio": 0.0, "Delta": 0,
    "Small": 0, "Places": [], "ByRow": {}, "Parts": [],
}


def run(host, port):
    c = Conn(host, port)
    item = {
        "Key": "apple",
        "Data": bytes(range(256)),
        "From": -1,
        "Where": {"Shelf": "A", "Row": 3},
        "Tags": ["fruit", "red", "ünïcode"],
        "Counts": {"sold": 12, "kept": -2, "big": 2**63 - 1},
        "Priority": 0,
        "Pinned": True,
        "Version": 2**64 - 1,
        "Weight": 0.1,
        "Ratio": 0.5,
        "Delta": -2**63,
        "Small": 2**32 - 1,
        "Places": [{"Shelf": "B", "Row": -7}, {"Shelf": "", "Row": 0}],
        "ByRow": {3: {"Shelf": "C", "Row": 3}, -4: {"Shelf": "D", "Row": 0}},
    }
    check("KV.Put", c.call("KV.Put", item), (None, {"Key": "apple", "Size": 1}))
    want = dict(ZERO_ITEM, **item)
    check("KV.Get every kind", c.call("KV.Get", "apple"), (None, want))
    check("KV.Echo every kind", c.call("KV.Echo", item), (None, want))
    # unknown keys are skipped; nil leaves a field unset; "Note" set
    check("KV.Echo sparse", c.call("KV.Echo", {"Key": "k", "Extra": [1, 2],
                                              "Where": None, "Note": "n"}),
          (None, dict(ZERO_ITEM, Key="k", Note="n")))
    check("KV.Echo empty map", c.call("KV.Echo", {}), (None, ZERO_ITEM))
    # floats given as integers are accepted
    check("KV.Echo int as double", c.call("KV.Echo", {"Weight": 2})[1]["Weight"],
          2.0)

    # builtins travel bare
    check("KV.Count", c.call("KV.Count", "fruit"), (None, 1))
    check("KV.Count none", c.call("KV.Count", "blue"), (None, 0))
    c.call("KV.Put", {"Key": "banana", "Tags": ["fruit"]})
    check("KV.Keys", c.call("KV.Keys", 10), (None, ["apple", "banana"]))
    check("KV.Keys limit", c.call("KV.Keys", 1), (None, ["apple"]))
    check("KV.Keys empty", c.call("KV.Keys", 0), (None, []))

    # errors: a string, result nil; the connection lives on
    check("KV.Get missing", c.call("KV.Get", "pear"), ("kv: no such key", None))
    check("KV.Fail", c.call("KV.Fail", {}), ("kv: failed on purpose", None))
    check("unknown method", c.call("KV.Nope", 1),
          ("rpc: can't find method KV.Nope", None))
    check("unknown service", c.call("Nope.Nope", 1),
          ("rpc: can't find service Nope.Nope", None))
    check("wrong type", c.call("KV.Echo", {"Tags": "x"}),
          ('msgpack: field "Tags": want array, got string', None))
    check("wrong bare type", c.call("KV.Count", 5),
          ('msgpack: field "value": want string, got integer', None))
    check("out of range", c.call("KV.Echo", {"Small": 2**32}),
          ('msgpack: field "Small": 4294967296 out of range', None))
    check("no params", c.call("KV.Count"),
          ("msgpack: params holds 0 values, want 1", None))
    check("still serving", c.call("KV.Count", "red"), (None, 1))

    # pipelined: 50 requests in one write, every reply matched by msgid
    reqs = {}
    buf = b""
    for i in range(50):
        c.msgid += 1
        tag = "fruit" if i % 2 else "none"
        reqs[c.msgid] = 2 if tag == "fruit" else 0
        buf += msgpack.packb([0, c.msgid, "KV.Count", [tag]])
    c.sock.sendall(buf)
    got = {}
    for _ in range(50):
        r = c.reply()
        got[r[1]] = r[3]
    check("pipelined", got, reqs)

    # a second connection, and garbage on a third that the server closes
    c2 = Conn(host, port)
    check("second connection", c2.call("KV.Count", "fruit"), (None, 2))
    bad = socket.create_connection((host, port), timeout=10)
    bad.sendall(b"\xc1 not msgpack-rpc")
    check("garbage closes", bad.recv(100), b"")
    bad.close()
    check("others live on", c.call("KV.Count", "red"), (None, 1))
    c.sock.close()
    c2.sock.close()


def main():
    cmd = [sys.argv[1], "tcp:127.0.0.1:0"]
    if os.environ.get("RPC_UNDER_VALGRIND"):
        # the valgrind test setup wraps this script; watch the server too
        cmd = ["valgrind", "--quiet", "--error-exitcode=99",
               "--leak-check=full", "--errors-for-leak-kinds=definite",
               "--show-leak-kinds=definite"] + cmd
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("listening tcp:"):
            print(f"FAIL: the server printed {line!r}")
            return 1
        host, port = line.split()[1][len("tcp:"):].rsplit(":", 1)
        run(host, int(port))
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            out = ""
            failures.append("server stop")
    check("server stopped cleanly", (proc.returncode, "kv-server: stopped" in out),
          (0, True))
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
