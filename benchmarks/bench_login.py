"""Memory and /health latency while many people log in at once (never part of the tests).

    .venv/bin/python benchmarks/bench_login.py                 # 30 concurrent logins
    PEDBONE_HASH_CONCURRENCY=64 .venv/bin/python benchmarks/bench_login.py   # ~unbounded

The app runs under uvicorn in a separate process with the production argon2 parameters (the
library's defaults: 64 MiB per hash) on a scratch SQLite database with one user. ``--logins``
threads post the login form at the same moment (half with the right password, half wrong,
each from its own client so throttling does not stop them early... every wrong one counts
against the same address, so keep ``--logins`` under the address allowance of 20 wrong
attempts, or the later ones are answered 429 without hashing). Meanwhile /health is polled.
Reported: the server's resident memory before, its peak (VmHWM) and after; /health latencies.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PASSWORD = "violet tram seventeen quay"


def _rss(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    return rss, hwm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--logins", type=int, default=30)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    subprocess.run(
        [str(Path(sys.executable).with_name("pedbone")), "user", "add", "doc", "--password-stdin",
         "--database-url", url],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True,
    )  # fmt: skip
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PEDBONE_DATABASE_URL=url, PEDBONE_SECRET_KEY="b" * 48)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "pedbone.web:create_app_from_env",
         "--port", str(port), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        time.sleep(1.0)
        before = _rss(server.pid)[0]
        barrier = threading.Barrier(args.logins)
        results: list[int] = []

        def one(i: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as c:
                page = c.get("/login").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                barrier.wait()
                pw = PASSWORD if i % 2 == 0 else f"wrong password number {i}"
                r = c.post("/login", data={"username": "doc", "password": pw,
                                           "csrf_token": token})  # fmt: skip
                results.append(r.status_code)

        health: list[float] = []
        done = threading.Event()

        def poll() -> None:
            with httpx.Client(base_url=base, timeout=120) as c:
                while not done.is_set():
                    t = time.perf_counter()
                    c.get("/health")
                    health.append((time.perf_counter() - t) * 1000)
                    time.sleep(0.05)

        poller = threading.Thread(target=poll)
        poller.start()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.logins)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        done.set()
        poller.join()
        after, peak = _rss(server.pid)
        codes = {c: results.count(c) for c in sorted(set(results))}
        print(f"hash concurrency: {os.environ.get('PEDBONE_HASH_CONCURRENCY', 'default (2)')}")
        print(f"{args.logins} concurrent logins in {elapsed:.1f} s; answers {codes}")
        print(f"server RSS: before {before:.0f} MiB, peak {peak:.0f} MiB, after {after:.0f} MiB")
        print(
            f"/health during the logins: {len(health)} requests, median "
            f"{statistics.median(health):.0f} ms, max {max(health):.0f} ms"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
