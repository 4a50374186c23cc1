#!/usr/bin/env python3
"""Benchmark rpcgen-c's librpc beside Go's net/rpc on one workload.

Arith.Multiply, args {A, B int64}, reply int64; server and client are
separate processes on 127.0.0.1. Four shapes:

  sync      one connection, one call at a time
  inflight  one connection, 128 calls in flight
  conns     8 connections, each synchronous
  pinned    sync with both processes pinned to CPU 0 (taskset -c 0)

and, for our client only (asked for with --shape; docs/scaling.md):

  pool1     sync through a balanced client on one server ("list:ADDR"):
            the balancing layer's cost, against sync
  pool3     128 in flight through a balanced client on three servers
            ("list:A,B,C"), against inflight

and large messages (Types.Echo of bench/large.rpc, one call at a time;
--shape large asks for all three):

  large1m   a bytes field of 1 MiB
  large16m  a bytes field of 16 MiB
  items     a list of 10,000 small structs (encode/decode cost)
  large63m  a bytes field of 63 MiB (asked for by name only; max_frame
            128 MiB on our side)

and over TLS (--shape tls asks for all five; Go's side is crypto/tls,
ours OpenSSL; certificates made for the run by bench-certs):

  tls-sync      sync over TLS
  tls-inflight  inflight over TLS
  tls-large1m   large1m over TLS
  tls-dial      dial, one call, hang up: the connection rate, sessions
                resumed (Go's client with an LRU session cache)
  tls-dial-full the same with full handshakes (ours with no_resume, Go's
                without a session cache)

For the large and TLS shapes the default implementations add the mixed
pairs (gocli-*: Go's client against our server; ccli-*: ours against Go's).

For each implementation and shape a fresh server is started; the table shows
calls/s, CPU microseconds per call (server + client, from /proc and
getrusage) and the server's peak RSS (VmHWM), then our/Go ratios.

Usage: bench/run.py BUILD_DIR [--seconds S] [--impl NAME ...] [--shape NAME ...]
                   [--malloc-tuned]
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SHAPES = ["pinned", "sync", "inflight", "conns"]
# Large shapes: (bytes in Blob.Data, elements of Blob.Items).
LARGE_SHAPES = {"large1m": (1 << 20, 0), "large16m": (16 << 20, 0), "items": (0, 10000),
                "large63m": (63 << 20, 0)}
# Shapes whose messages pass the default 64 MiB max_frame once encoded
# (JSON's base64 makes 63 MiB 84): both of our programs get this one.
BIG_FRAME = {"large63m": 128 << 20}
# Implementations that only the large shapes run by default.
MIXED = ["gocli-c-gob", "ccli-go-gob", "gocli-c-json", "ccli-go-json"]
# Balanced-client shapes: (servers, client mode). Ours only; not in SHAPES.
POOL_SHAPES = {"pool1": (1, "sync"), "pool3": (3, "inflight")}
# TLS shapes: the plain shape each runs over TLS.
TLS_SHAPES = {"tls-sync": "sync", "tls-inflight": "inflight", "tls-large1m": "large1m",
              "tls-dial": "dial", "tls-dial-full": "dial-full"}


def impls(build, gobin):
    c_srv = os.path.join(build, "bench", "bench-server")
    c_cli = os.path.join(build, "bench", "bench-client")
    go_srv = os.path.join(gobin, "go-bench-server")
    go_cli = os.path.join(gobin, "go-bench-client")
    return {
        "go-gob": (go_srv, go_cli, "gob"),
        "go-json": (go_srv, go_cli, "json"),
        "c-protobuf": (c_srv, c_cli, "protobuf"),
        "c-gob": (c_srv, c_cli, "gob"),
        "c-json": (c_srv, c_cli, "json"),
        "gocli-c-gob": (c_srv, go_cli, "gob"),
        "ccli-go-gob": (go_srv, c_cli, "gob"),
        "gocli-c-json": (c_srv, go_cli, "json"),
        "ccli-go-json": (go_srv, c_cli, "json"),
    }


# Which Go run each of ours is compared with.
BASELINE = {"c-protobuf": "go-gob", "c-gob": "go-gob", "c-json": "go-json",
            "gocli-c-gob": "go-gob", "ccli-go-gob": "go-gob",
            "gocli-c-json": "go-json", "ccli-go-json": "go-json"}


def proc_cpu_us(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1_000_000 // os.sysconf("SC_CLK_TCK")


def proc_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


# --malloc-tuned: glibc's allocator mmaps every block of 32 MiB or more
# afresh (its dynamic threshold stops there), so each call of a message
# that large faults in new zeroed pages for every buffer; this raises the
# threshold for our programs only (docs/performance.md).
MALLOC_TUNED = "glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=536870912"
TUNE = {"on": False}


def c_env(prog):
    env = dict(os.environ)
    if TUNE["on"] and not os.path.basename(prog).startswith("go-"):
        env["GLIBC_TUNABLES"] = MALLOC_TUNED
    return env


def run_case(srv, cli, codec, shape, seconds, certs=None):
    tls = []
    if shape in TLS_SHAPES:
        tls = ["-tls", certs]
        shape = TLS_SHAPES[shape]
    cli_extra = []
    srv_extra = []
    if shape in BIG_FRAME:
        cli_extra = ["-maxframe", str(BIG_FRAME[shape])]
        if not os.path.basename(srv).startswith("go-"):
            srv_extra = ["-maxframe", str(BIG_FRAME[shape])]
        if os.path.basename(cli).startswith("go-"):
            cli_extra = []
    if shape in ("dial", "dial-full"):
        cli_extra = ["-fresh", "1" if shape == "dial-full" else "0"]
    pin = ["taskset", "-c", "0"] if shape == "pinned" else []
    n_servers, mode = POOL_SHAPES.get(shape, (1, "sync" if shape == "pinned" else shape))
    size, items = LARGE_SHAPES.get(shape, (0, 0))
    if shape in LARGE_SHAPES:
        mode = "large"
    if shape in ("dial", "dial-full"):
        mode = "dial"
    servers = []
    try:
        addrs = []
        for _ in range(n_servers):
            server = subprocess.Popen(pin + [srv, "-addr", "127.0.0.1:0", "-codec", codec] + tls
                                      + srv_extra, env=c_env(srv),
                                      stdout=subprocess.PIPE, text=True)
            servers.append(server)
            line = server.stdout.readline().split()
            if len(line) != 2 or line[0] != "listening":
                raise RuntimeError(f"{srv}: no 'listening ADDR' line")
            addrs.append(line[1])
        addr = "list:" + ",".join(addrs) if shape in POOL_SHAPES else addrs[0]
        cpu0 = sum(proc_cpu_us(s.pid) for s in servers)
        out = subprocess.run(pin + [cli, "-addr", addr, "-codec", codec, "-mode", mode,
                                    "-depth", "128", "-conns", "8",
                                    "-size", str(size), "-items", str(items),
                                    "-seconds", str(seconds)] + cli_extra + tls,
                             capture_output=True, text=True, timeout=seconds * 10 + 30,
                             env=c_env(cli))
        if out.returncode != 0:
            raise RuntimeError(f"{cli} failed: {out.stderr.strip()}")
        srv_cpu = sum(proc_cpu_us(s.pid) for s in servers) - cpu0
        hwm = max(proc_hwm_kb(s.pid) for s in servers)
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    f = out.stdout.split()
    calls, secs, cli_cpu = int(f[1]), float(f[3]), int(f[5])
    return {
        "rate": calls / secs,
        "cpu": (srv_cpu + cli_cpu) / max(calls, 1),
        "rss": hwm,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--gobin", help="folder with go-bench-server/client (default BUILD/bench)")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--impl", action="append")
    ap.add_argument("--shape", action="append")
    ap.add_argument("--malloc-tuned", action="store_true",
                    help="raise glibc's mmap threshold for our programs")
    a = ap.parse_args()
    table = impls(a.build, a.gobin or os.path.join(a.build, "bench"))
    TUNE["on"] = a.malloc_tuned
    shapes = []
    for shape in a.shape or SHAPES:
        shapes += (["large1m", "large16m", "items"] if shape == "large"
                   else list(TLS_SHAPES) if shape == "tls" else [shape])
    certs = None
    if any(s in TLS_SHAPES for s in shapes):
        certs = tempfile.mkdtemp(prefix="rpc-bench-tls-")
        subprocess.run([os.path.join(a.build, "bench", "bench-certs"), certs], check=True)
    try:
        return report(a, table, shapes, certs)
    finally:
        if certs:
            shutil.rmtree(certs, ignore_errors=True)


def report(a, table, shapes, certs):
    res = {}
    print(f"{'impl':<12} {'shape':<12} {'calls/s':>10} {'ms/call':>9} {'cpu us/call':>12} "
          f"{'srv RSS KiB':>12}")
    for shape in shapes:
        names = a.impl or [n for n in table if n not in MIXED or shape in LARGE_SHAPES
                           or shape in TLS_SHAPES]
        for name in names:
            srv, cli, codec = table[name]
            if shape in POOL_SHAPES and name.startswith("go-"):
                continue  # Go's net/rpc has no balanced client
            if not (os.access(srv, os.X_OK) and os.access(cli, os.X_OK)):
                print(f"{name:<12} {shape:<12} (not built)")
                continue
            r = run_case(srv, cli, codec, shape, a.seconds, certs)
            res[(name, shape)] = r
            print(f"{name:<12} {shape:<12} {r['rate']:>10.1f} {1000 / r['rate']:>9.2f} "
                  f"{r['cpu']:>12.2f} {r['rss']:>12}", flush=True)
    print()
    print("ratios, ours / Go (calls/s: higher is better; CPU and RSS: lower is better)")
    print(f"{'impl':<12} {'vs':<8} {'shape':<12} {'calls/s':>8} {'cpu/call':>9} {'RSS':>6}")
    for shape in shapes:
        for name in table:
            base = BASELINE.get(name)
            if not base or (name, shape) not in res or (base, shape) not in res:
                continue
            o, g = res[(name, shape)], res[(base, shape)]
            print(f"{name:<12} {base:<8} {shape:<12} {o['rate'] / g['rate']:>7.2f}x "
                  f"{o['cpu'] / g['cpu']:>8.2f}x {o['rss'] / max(g['rss'], 1):>5.2f}x")


if __name__ == "__main__":
    sys.exit(main())
