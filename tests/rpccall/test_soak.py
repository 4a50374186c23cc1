#!/usr/bin/env python3
"""test_soak.py - clients killed mid-call leave the server as they found it.

Starts the example server (examples/arith) and keeps CLIENTS rpc-call load
runs going against it for SECONDS; every so often one of them is SIGKILLed
in the middle of its calls and a fresh one takes its place. Asserts:

  * every client that was not killed finished with status 0 and its summary
    says "0 errors" (a peer dying costs its neighbours nothing);
  * the server answers a plain call afterwards;
  * once the load is over, the server's open descriptors are back to what
    they were after the warm-up (a killed peer's connection is closed), and
    its resident memory grew by less than RSS_SLACK_MB. In a sanitizer
    build the RSS is printed but not bounded: ASan's quarantine keeps up to
    256 MiB of freed memory resident by design, so growth there says
    nothing about the server.

    test_soak.py --rpc-call EXE --arith-server EXE --arith-idl FILE
                 [--seconds N] [--sanitized]

Every process started is stopped by its pid; the run is bounded in time.
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import time

CLIENTS = 6
RSS_SLACK_MB = 48


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rpc-call", required=True)
    ap.add_argument("--arith-server", required=True)
    ap.add_argument("--arith-idl", required=True)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--sanitized", action="store_true",
                    help="built with a sanitizer: RSS is not bounded")
    a = ap.parse_args()

    srv = subprocess.Popen([a.arith_server], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    procs = []
    failures = []
    try:
        line = srv.stdout.readline().split()
        if len(line) < 2 or line[0] != "listening":
            print(f"soak: the server did not start: {line}")
            return 1
        addr = line[1]

        def call(repeat, concurrency):
            return subprocess.Popen(
                [a.rpc_call, "--idl", a.arith_idl, "--repeat", str(repeat),
                 "--concurrency", str(concurrency), addr, "Arith.Multiply",
                 '{"A":6,"B":7}'],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def finished(p, killed, summary=True):
            out, err = p.communicate(timeout=60)
            if killed:
                return
            if p.returncode != 0 or out.strip() != "42" or \
                    (summary and " 0 errors" not in err):
                failures.append((p.returncode, out.strip(), err.strip()))

        # Warm-up: the server's pools and buffers reach their working size.
        w = call(2000, 4)
        finished(w, False)
        time.sleep(0.3)
        base_fds, base_rss = fds(srv.pid), rss_kb(srv.pid)

        rnd = random.Random(7)
        until = time.monotonic() + a.seconds
        kills = survivors = 0
        procs = [call(rnd.randrange(500, 3000), rnd.randrange(1, 9))
                 for _ in range(CLIENTS)]
        while time.monotonic() < until:
            time.sleep(rnd.uniform(0.05, 0.3))
            for i, p in enumerate(procs):
                if p.poll() is not None:
                    finished(p, False)
                    survivors += 1
                    procs[i] = call(rnd.randrange(500, 3000),
                                    rnd.randrange(1, 9))
            i = rnd.randrange(len(procs))
            if procs[i].poll() is None:
                procs[i].kill()
                finished(procs[i], True)
                kills += 1
                procs[i] = call(rnd.randrange(500, 3000), rnd.randrange(1, 9))
        for p in procs:
            if p.poll() is None:
                p.kill()
                finished(p, True)
                kills += 1
            else:
                finished(p, False)
                survivors += 1
        procs = []

        # The server has seen every killed peer go: its descriptors come
        # back to the warm-up count (bounded wait).
        deadline = time.monotonic() + 10
        while fds(srv.pid) > base_fds and time.monotonic() < deadline:
            time.sleep(0.05)
        end_fds, end_rss = fds(srv.pid), rss_kb(srv.pid)
        last = call(1, 1)  # one call: no load summary
        finished(last, False, summary=False)

        print(f"soak: {a.seconds:.0f} s, {kills} clients killed mid-call, "
              f"{survivors} finished; server fds {base_fds} -> {end_fds}, "
              f"RSS {base_rss} -> {end_rss} KiB")
        ok = True
        if failures:
            for f in failures[:5]:
                print(f"soak: a surviving client failed: {f}")
            ok = False
        if kills < 5:
            print(f"soak: only {kills} kills: the run proves nothing")
            ok = False
        if end_fds > base_fds:
            print(f"soak: server descriptors {base_fds} -> {end_fds}")
            ok = False
        if a.sanitized:
            print("soak: sanitizer build: RSS reported, not bounded")
        elif end_rss - base_rss > RSS_SLACK_MB * 1024:
            print(f"soak: server RSS grew by {(end_rss - base_rss) // 1024} "
                  f"MiB (bound {RSS_SLACK_MB})")
            ok = False
        return 0 if ok else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        srv.send_signal(signal.SIGKILL)
        srv.wait()


if __name__ == "__main__":
    sys.exit(main())
