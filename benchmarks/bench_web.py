"""Latency of the patient overview page under concurrent load, on SQLite and PostgreSQL.

Run (never part of the tests)::

    .venv/bin/python benchmarks/bench_web.py                      # SQLite, 10,000 patients
    tools/test-postgres.sh .venv/bin/python benchmarks/bench_web.py --backend both
    .venv/bin/python benchmarks/bench_web.py --patients 1000 --requests 400   # quick look
    .venv/bin/python benchmarks/bench_web.py --hot-patients 200 --workers 2   # a clinic day
    .venv/bin/python benchmarks/bench_web.py --no-cache                        # as before
    .venv/bin/python benchmarks/bench_web.py --patients 500 --server-time 200 --profile 40
    .venv/bin/python benchmarks/bench_web.py --patients 2000 --requests 300 --pin --no-cache

The database gets ``--patients`` fictional patients with ``--visits`` visits each (a visit:
height and weight, and a DXA scan with lumbar spine and lower-limb values), written with bulk
inserts. The app runs under uvicorn in a separate process on a free loopback port; ``--clients``
concurrent clients (threads with keep-alive connections) log in once each and then request
random patient overviews until ``--requests`` requests are done (plus a warm-up), so the run
always ends by itself. Reported: median, p95 and max latency, and throughput, with the load
average of the machine beside them (a shared machine's numbers mean little without it).
``--pin`` puts the server on CPU 0 and the load generator on the other CPUs (Linux).

``--server-time N`` measures instead the server time of N uncached overviews in this process
(the overview view itself, from reading the patient to the rendered page, without HTTP), one
after another; ``--profile K`` adds a cProfile of those requests (top K functions).

Target: p95 under 150 ms on SQLite with 20 clients. PostgreSQL comes from ``--postgres-url`` or
``PEDBONE_TEST_POSTGRES_URL`` (set by tools/test-postgres.sh); a scratch database is created in
that server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

PASSWORD = "benchmark-password"
SECRET = "benchmark-secret-" + "x" * 32


def populate(url: str, patients: int, visits: int, seed: int = 7) -> None:
    """Create the schema and fill it with bulk inserts (no ORM objects, no audit rows)."""
    import numpy as np
    from sqlalchemy import insert

    import pedbone
    from pedbone.store import (
        Anthropometry,
        Database,
        Diagnosis,
        DxaMeasurement,
        DxaScan,
        Patient,
        Treatment,
        create_user,
    )

    db = Database(url)
    with db.unit_of_work() as session:
        create_user(session, "bench", PASSWORD, "clinician", full_name="Bench Mark")
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    today = dt.date.today()
    leg = pedbone.reference("schafmeyer2022")
    cdc = pedbone.reference("cdc2000")
    codes = ["phenylketonuria", "galactosaemia", "epilepsy", "cerebral_palsy", "burns"]
    common = {"version": 1, "created_at": now, "updated_at": now}
    batch = 1000
    scan_id = 0
    with db.engine.begin() as conn:
        for start in range(0, patients, batch):
            ids = range(start + 1, min(start + batch, patients) + 1)
            prows, drows, arows, srows, mrows, trows = [], [], [], [], [], []
            for pid in ids:
                sex = rng.choice("MF")
                age_now = rng.uniform(9.0, 18.0)
                birth = today - dt.timedelta(days=round(age_now * 365.25))
                prows.append(
                    {
                        "id": pid, "uid": str(uuid.UUID(int=rng.getrandbits(128))),
                        "mrn": f"B{pid:06d}", "family_name": f"Family{pid:05d}",
                        "given_name": rng.choice(["Anna", "Lars", "Noor", "Wout"]),
                        "birth_date": birth, "sex": sex, "demo": True, **common,
                    }
                )  # fmt: skip
                drows.append(
                    {"patient_id": pid, "code": rng.choice(codes), "primary": True, **common}
                )
                if rng.random() < 0.2:
                    trows.append(
                        {
                            "patient_id": pid, "drug": "zoledronic acid", "route": "iv",
                            "start_date": today - dt.timedelta(days=400), "status": "active",
                            **common,
                        }
                    )  # fmt: skip
                hz, lz = rng.gauss(0, 1), rng.gauss(-0.5, 1)
                for v in range(visits):
                    day = today - dt.timedelta(days=round((visits - 1 - v) * 0.5 * 365.25))
                    age = (day - birth).days / 365.25
                    if age < 8.0:
                        continue
                    height = float(cdc.value("height", sex=sex, age_years=age, z=hz))
                    weight = float(cdc.value("weight", sex=sex, age_years=age, z=hz * 0.8))
                    arows.append(
                        {
                            "patient_id": pid, "measured_on": day, "height_cm": round(height, 1),
                            "weight_kg": round(weight, 1), **common,
                        }
                    )  # fmt: skip
                    scan_id += 1
                    srows.append(
                        {
                            "id": scan_id, "patient_id": pid, "scanned_on": day,
                            "manufacturer": "Hologic", "model": "Horizon A",
                            "precision_rms_sd": {"spine_abmd": 0.010}, **common,
                        }
                    )  # fmt: skip
                    abmd = float(leg.value("leg_abmd", sex=sex, age_years=age, z=lz, group="white"))
                    mrows.append(
                        {
                            "scan_id": scan_id, "site": "leg", "abmd_g_cm2": round(abmd, 3),
                            "reference_pack": "schafmeyer2022", "reference_group": "white",
                            **common,
                        }
                    )  # fmt: skip
                    mrows.append(
                        {
                            "scan_id": scan_id, "site": "spine", "region": "L1-L4",
                            "abmd_g_cm2": round(0.45 + 0.03 * age + rng.gauss(0, 0.03), 3),
                            "vendor_z_abmd": round(lz + rng.gauss(0, 0.3), 1), **common,
                        }
                    )  # fmt: skip
            for model, rows in (
                (Patient, prows), (Diagnosis, drows), (Treatment, trows),
                (Anthropometry, arows), (DxaScan, srows), (DxaMeasurement, mrows),
            ):  # fmt: skip
                if rows:  # executemany needs the same keys in every row
                    keys = {k for row in rows for k in row}
                    uniform = [{k: row.get(k) for k in keys} for row in rows]
                    conn.execute(insert(model.__table__), uniform)
            print(f"  {min(start + batch, patients):>6} patients", end="\r", flush=True)
    if db.backend == "postgresql":  # keep the sequences ahead of the explicit ids
        with db.engine.begin() as conn:
            for table in ("patients", "dxa_scans"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    db.dispose()
    del np
    print()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load_average() -> str:
    try:
        return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        return "load average unknown"


def _pin(proc: subprocess.Popen[bytes]) -> str:
    """Server on CPU 0, this process (the clients) on the others; a note of what was done."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return "not pinned (needs 2 CPUs and Linux)"
    os.sched_setaffinity(proc.pid, {cpus[0]})
    os.sched_setaffinity(0, set(cpus[1:]))
    return f"server on CPU {cpus[0]}, clients on {cpus[1:]}"


def server_time(url: str, args: argparse.Namespace) -> None:
    """Server time of uncached overviews, in process, one after another (see the docstring)."""
    import cProfile
    import pstats

    os.environ["PEDBONE_OVERVIEW_CACHE"] = "0"
    from starlette.testclient import TestClient

    import pedbone.web._cache as cache_module
    from pedbone.store import Database
    from pedbone.web import WebSettings, create_app

    view = cache_module.overview_page
    times: list[float] = []
    profile = cProfile.Profile()
    profiling = {"on": False}

    def timed(*a: Any, **k: Any) -> Any:
        if profiling["on"]:
            profile.enable()
        t0 = time.perf_counter()
        try:
            return view(*a, **k)
        finally:
            times.append(time.perf_counter() - t0)
            profile.disable()

    cache_module.overview_page = timed  # type: ignore[assignment]
    db = Database(url, upgrade=False)
    app = create_app(WebSettings(secret_key=SECRET), database=db)
    rng = random.Random(11)
    t0 = time.perf_counter()
    with TestClient(app) as c:
        print(f"[server] start-up (warm-up) {(time.perf_counter() - t0) * 1000:.0f} ms")
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert token
        c.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token[1]})
        first = c.get(f"/patients/{rng.randint(1, args.patients)}")
        assert "Latest assessment" in first.text, first.status_code
        print(f"[server] first overview {times[-1] * 1000:.1f} ms ({_load_average()})")
        times.clear()
        for _ in range(args.server_time):
            c.get(f"/patients/{rng.randint(1, args.patients)}")
        ts = sorted(times)
        print(
            f"[server] {len(ts)} uncached overviews, one at a time: median "
            f"{statistics.median(ts) * 1000:.1f} ms, p95 {ts[int(0.95 * (len(ts) - 1))] * 1000:.1f}"
            f" ms, min {ts[0] * 1000:.1f} ms ({_load_average()})"
        )
        if args.profile:
            profiling["on"] = True
            for _ in range(min(args.server_time, 100)):
                c.get(f"/patients/{rng.randint(1, args.patients)}")
            stats = pstats.Stats(profile)
            stats.sort_stats("cumulative").print_stats(r"pedbone|jinja2|sqlalchemy", args.profile)
    db.dispose()


def _serve(url: str, port: int, workers: int, cache: bool = True) -> subprocess.Popen[bytes]:
    """uvicorn in its own process group, with the app factory reading the environment."""
    env = {**os.environ, "PEDBONE_DATABASE_URL": url, "PEDBONE_SECRET_KEY": SECRET}
    env["PEDBONE_OVERVIEW_CACHE"] = "1" if cache else "0"
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "pedbone.web:create_app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env)


def _wait(port: int, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start")


def _client(base: str) -> Any:
    import httpx

    c = httpx.Client(base_url=base, timeout=60.0, follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
    assert token
    r = c.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token[1]})
    if r.status_code != 200 or "Patients" not in r.text:
        raise RuntimeError(f"login failed: HTTP {r.status_code}")
    return c


def load(
    base: str,
    patients: int,
    clients: int,
    requests: int,
    warmup: int,
    think: float = 0.0,
    hot: int = 0,
) -> dict[str, float]:
    """``clients`` threads share ``requests`` overview requests; returns latency statistics.

    ``think`` seconds of pause after each response (0: back-to-back, the hardest case).
    ``hot`` > 0: every client picks among the same ``hot`` patients (a clinic day's list, which
    several clinicians open repeatedly); 0: among all patients (nearly every view is a first).
    """
    sessions = [_client(base) for _ in range(clients)]
    lock = threading.Lock()
    counter = {"left": requests + warmup}
    latencies: list[float] = []
    errors: list[str] = []

    def worker(c: Any, seed: int) -> None:
        rng = random.Random(seed)
        while True:
            with lock:
                if counter["left"] <= 0:
                    return
                counter["left"] -= 1
                measured = counter["left"] < requests
            pid = rng.randint(1, hot or patients)
            t0 = time.perf_counter()
            r = c.get(f"/patients/{pid}")
            elapsed = time.perf_counter() - t0
            if r.status_code != 200 or "Latest assessment" not in r.text:
                errors.append(f"{pid}: {r.status_code}")
            if measured:
                with lock:
                    latencies.append(elapsed)
            if think:
                time.sleep(rng.uniform(0.5 * think, 1.5 * think))

    threads = [threading.Thread(target=worker, args=(c, i)) for i, c in enumerate(sessions)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    for c in sessions:
        c.close()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    latencies.sort()
    return {
        "n": len(latencies),
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        "max_ms": latencies[-1] * 1000,
        "throughput_rps": (requests + warmup) / wall,
    }


def run(label: str, url: str, args: argparse.Namespace, *, fill: bool = True) -> None:
    if fill:
        print(f"[{label}] populating {args.patients} patients x {args.visits} visits ...")
        t0 = time.perf_counter()
        populate(url, args.patients, args.visits)
        print(f"[{label}] populated in {time.perf_counter() - t0:.0f} s")
    if args.server_time:
        server_time(url, args)
        return
    for cache in (False, True) if args.compare else (not args.no_cache,):
        _measure(label, url, args, cache)


def _measure(label: str, url: str, args: argparse.Namespace, cache: bool) -> None:
    port = _free_port()
    proc = _serve(url, port, args.workers, cache=cache)
    pinned = _pin(proc) if args.pin else "not pinned"
    try:
        _wait(port)
        stats = load(
            f"http://127.0.0.1:{port}",
            args.patients,
            args.clients,
            args.requests,
            args.warmup,
            args.think_ms / 1000.0,
            args.hot_patients,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(
        f"[{label}] cache {'on' if cache else 'off'}, "
        f"patients {args.hot_patients or args.patients}: "
        f"{stats['n']} overview requests, {args.clients} clients, "
        f"{args.workers} worker(s): median {stats['median_ms']:.0f} ms, "
        f"p95 {stats['p95_ms']:.0f} ms, max {stats['max_ms']:.0f} ms, "
        f"{stats['throughput_rps']:.1f} requests/s ({_load_average()}; {pinned})"
    )


def _postgres_scratch(admin_url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, make_url

    name = f"pedbone_bench_{os.getpid()}"
    base = make_url(admin_url).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=10)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000, help="measured requests")
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="mean pause of each client between requests"
    )
    parser.add_argument(
        "--hot-patients",
        type=int,
        default=0,
        help="clients pick among the first N patients only (0: among all)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="switch the overview cache off (as before it)"
    )
    parser.add_argument(
        "--compare", action="store_true", help="measure with the cache off, then on"
    )
    parser.add_argument(
        "--sqlite-file", type=Path, help="keep the SQLite database here; reuse it if it exists"
    )
    parser.add_argument("--pin", action="store_true", help="server and clients on own CPUs")
    parser.add_argument(
        "--server-time", type=int, default=0, help="N in-process uncached overviews, timed"
    )
    parser.add_argument("--profile", type=int, default=0, help="with --server-time: top K")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("PEDBONE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        if args.sqlite_file:
            fill = not args.sqlite_file.exists()
            run("sqlite", f"sqlite:///{args.sqlite_file.resolve()}", args, fill=fill)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                run("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args)
    if args.backend in ("postgresql", "both"):
        if not args.postgres_url:
            sys.exit("PostgreSQL: pass --postgres-url or run under tools/test-postgres.sh")
        url, drop = _postgres_scratch(args.postgres_url)
        try:
            run("postgresql", url, args)
        finally:
            drop()


if __name__ == "__main__":
    main()
