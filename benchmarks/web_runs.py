"""Dashboard runs list with 10,000 runs: the server-paged page against the unpaginated API list.

For each backend (a SQLite file; a real PostgreSQL server started here with --backends postgresql):
  1. `gigawatt serve --workers 0` on a fresh database; a scenario uploaded through the API;
     --runs runs (plan, simulate and stress, every status) inserted into the store in one batch;
  2. the dashboard's /runs page, signed in with a cookie: the first page, a page half-way down
     (its keyset cursor), and a filtered page (status=failed), each timed end to end over HTTP;
  3. baseline, in the same run: the whole list through the API, unpaginated as far as the API
     allows (GET /api/v1/runs?limit=500, following next_cursor to the end), which is what a page
     that lists every run has to fetch before it renders anything.
Prints the median of --repeat timings and the ratio baseline / page.

    python benchmarks/web_runs.py
    python benchmarks/web_runs.py --runs 10000 --repeat 7 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from service_support import PostgresServer, free_port  # noqa: E402  (the tests' real PostgreSQL)

GIGAWATT = [sys.executable, "-m", "gigawatt"]
STATUSES = ("succeeded", "succeeded", "succeeded", "failed", "cancelled", "queued", "running")
KINDS = ("plan", "plan", "simulate", "stress")


def serve(db: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([*GIGAWATT, "serve", "--db", db, "--port", str(port), "--workers", "0"],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not start; see {log}")


def populate(db: str, url: str, runs: int) -> str:
    """A token, a scenario through the API, then `runs` runs inserted in one transaction."""
    from gigawatt.service.auth import create_token
    from gigawatt.service.store import Store
    from gigawatt.service.store.models import Run

    store = Store(db)
    row, token = create_token(store, "bench", "viewer")
    editor = create_token(store, "bench", "editor")[1]
    r = httpx.post(f"{url}/api/v1/scenarios", headers={"Authorization": f"Bearer {editor}"},
                   json={"name": "minimal", "yaml": (ROOT / "examples" / "minimal.yaml").read_text()})
    r.raise_for_status()
    scenario_id = r.json()["id"]
    now = time.time()
    rows = []
    for i in range(runs):
        status = STATUSES[i % len(STATUSES)]
        created = now - (runs - i) * 60.0
        started = created + 5 if status != "queued" else None
        rows.append({"id": uuid.uuid4().hex, "workspace_id": row.workspace_id, "scenario_id": scenario_id,
                     "kind": KINDS[i % len(KINDS)], "options": {}, "status": status,
                     "progress": 1.0 if status == "succeeded" else 0.4, "phase": status, "error": None,
                     "idempotency_key": None, "request_sha256": f"{i:064d}", "attempts": 1,
                     "worker": None, "lease_until": None, "cancel_requested": False, "gigawatt_version": "bench",
                     "created_at": created, "started_at": started,
                     "finished_at": started + 30 if started and status not in ("running",) else None})
    with store.write() as session:
        session.execute(Run.__table__.insert(), rows)
    store.dispose()
    return token


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()                                                 # warm: connections, templates, caches
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench(backend: str, db: str, runs: int, repeat: int, tmp: Path) -> dict[str, float]:
    proc, url = serve(db, tmp / f"{backend}.log")
    try:
        token = populate(db, url, runs)
        web = httpx.Client(base_url=url, timeout=120)
        assert web.post("/signin", data={"token": token}).status_code == 303 and web.cookies
        api = httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"})

        def page(query: str = "") -> int:
            r = web.get(f"/runs{query}")
            r.raise_for_status()
            return len(re.findall(r'<tr class="status-', r.text))

        def whole_list() -> int:
            seen, cursor = 0, None
            while True:
                r = api.get("/api/v1/runs", params={"limit": 500, **({"cursor": cursor} if cursor else {})})
                r.raise_for_status()
                body = r.json()
                seen += len(body["items"])
                cursor = body["next_cursor"]
                if cursor is None:
                    return seen

        assert whole_list() == runs and page() == 50
        middle = None                  # the keyset cursor half-way down: walk there 500 at a time
        for _ in range(max(runs // 2 // 500, 1)):
            params = {"limit": 500, **({"cursor": middle} if middle else {})}
            middle = api.get("/api/v1/runs", params=params).json()["next_cursor"]
        results = {
            "page_first_s": timed(page, repeat),
            "page_middle_s": timed(lambda: page(f"?cursor={middle}"), repeat),
            "page_failed_s": timed(lambda: page("?status=failed"), repeat),
            "baseline_api_all_s": timed(whole_list, max(3, repeat // 2)),
        }
        app_ms = web.get("/runs").headers.get("server-timing", "")
        results["page_first_app_ms"] = float(app_ms.split("dur=")[1]) if "dur=" in app_ms else float("nan")
        return results
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--backends", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gigawatt-web-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for backend in args.backends:
            pg = PostgresServer() if backend == "postgresql" else None
            db = pg.new_database() if pg else f"sqlite:///{tmp / 'web.db'}"
            try:
                r = bench(backend, db, args.runs, args.repeat, tmp)
            finally:
                if pg:
                    pg.stop()
            print(f"{backend}: {args.runs:,} runs, median of {args.repeat}")
            print(f"  /runs first page (50 rows)      {r['page_first_s'] * 1000:8.1f} ms "
                  f"(in the app {r['page_first_app_ms']:.1f} ms)")
            print(f"  /runs half-way down (cursor)    {r['page_middle_s'] * 1000:8.1f} ms")
            print(f"  /runs?status=failed             {r['page_failed_s'] * 1000:8.1f} ms")
            print(f"  baseline: API list, all runs    {r['baseline_api_all_s'] * 1000:8.1f} ms")
            print(f"  ratio baseline / first page     {r['baseline_api_all_s'] / r['page_first_s']:8.1f}x")
            print(f"  ratio baseline / half-way page  {r['baseline_api_all_s'] / r['page_middle_s']:8.1f}x")


if __name__ == "__main__":
    main()
