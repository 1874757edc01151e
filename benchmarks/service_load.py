"""Service under load: 50 concurrent clients create 500 runs and poll them while plans execute.

For each backend (a SQLite file; a real PostgreSQL server started here):
  1. baseline: `gigawatt serve --workers 0` (nothing executes); 50 clients create 10 runs each
     (a plan of examples/minimal.yaml), retry their first POST with the same Idempotency-Key,
     then poll their runs' status for --seconds;
  2. loaded: two `gigawatt worker` processes start executing those plans (both cores busy),
     and the same 50 clients poll the same way for --seconds;
  3. every run is cancelled or finished; the server's run list is checked against what the
     clients were given: lost and duplicated runs must both be 0.
Prints requests/s, p50/p99 of status reads as the clients saw them and inside the app (the
Server-Timing header), in both phases, and the loaded/baseline ratio; medians of --repeat runs.
A client polls each of its runs in turn, one read every --interval seconds (a progress bar).

    python benchmarks/service_load.py                 # SQLite and PostgreSQL
    python benchmarks/service_load.py --backends sqlite --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from service_support import PostgresServer, free_port  # noqa: E402  (the tests' real PostgreSQL)

GIGAWATT = [sys.executable, "-m", "gigawatt"]


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*GIGAWATT, *args], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


RETRIES = {"transport": 0}


async def send(client: httpx.AsyncClient, method: str, url: str, **kw: object) -> httpx.Response:
    """A request, retried on a dropped connection (safe: every POST here has an idempotency key)."""
    for attempt in range(4):
        try:
            r = await client.request(method, url, **kw)  # type: ignore[arg-type]
            r.raise_for_status()
            return r
        except httpx.TransportError:
            RETRIES["transport"] += 1
            if attempt == 3:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


async def create_runs(client: httpx.AsyncClient, n: int, key: str) -> tuple[list[str], int]:
    """n runs, each POST with its own Idempotency-Key; then the first retried. Returns (ids, dups)."""
    ids = []
    for i in range(n):
        r = await send(client, "POST", "/api/v1/runs", json={"kind": "plan", "scenario": "minimal"},
                       headers={"Idempotency-Key": f"{key}-{i}"})
        ids.append(r.json()["id"])
    retry = await send(client, "POST", "/api/v1/runs", json={"kind": "plan", "scenario": "minimal"},
                       headers={"Idempotency-Key": f"{key}-0"})
    return ids, int(retry.json()["id"] != ids[0])


async def poll(client: httpx.AsyncClient, ids: list[str], seconds: float, interval: float,
               latencies: list[float], in_app: list[float]) -> None:
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        t0 = time.perf_counter()
        r = await send(client, "GET", f"/api/v1/runs/{ids[i % len(ids)]}")
        latencies.append(time.perf_counter() - t0)
        in_app.append(float(r.headers["server-timing"].partition("dur=")[2]) / 1000)
        i += 1
        await asyncio.sleep(max(0.0, interval - (time.perf_counter() - t0)))


def summary(latencies: list[float], in_app: list[float], seconds: float) -> dict[str, float]:
    return {"requests": len(latencies), "rps": len(latencies) / seconds,
            "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * statistics.quantiles(latencies, n=100)[98],
            "app_p50_ms": 1000 * statistics.median(in_app), "app_p99_ms": 1000 * statistics.quantiles(in_app, n=100)[98]}


async def scenario_run(url: str, token: str, clients: int, per_client: int, seconds: float,
                       interval: float, start_workers) -> dict[str, object]:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as http:
        r = await http.post("/api/v1/scenarios", json={"name": "minimal",
                                                       "yaml": (ROOT / "examples/minimal.yaml").read_text()})
        r.raise_for_status()
        t0 = time.perf_counter()
        created = await asyncio.gather(*(create_runs(http, per_client, f"c{c}") for c in range(clients)))
        create_s = time.perf_counter() - t0
        ids = [i for got, _ in created for i in got]
        retried_dups = sum(d for _, d in created)
        base: list[float] = []
        base_app: list[float] = []
        await asyncio.gather(*(poll(http, got, seconds, interval, base, base_app) for got, _ in created))
        workers = start_workers()
        try:
            deadline = time.monotonic() + 60       # wait until plans are executing
            while time.monotonic() < deadline:
                page = (await http.get("/api/v1/runs", params={"status": "running", "limit": 5})).json()
                if len(page["items"]) >= 2:
                    break
                await asyncio.sleep(0.2)
            loaded: list[float] = []
            loaded_app: list[float] = []
            await asyncio.gather(*(poll(http, got, seconds, interval, loaded, loaded_app) for got, _ in created))
            done = len((await http.get("/api/v1/runs", params={"status": "succeeded", "limit": 500})).json()["items"])
            for run_id in ids:
                r = await http.post(f"/api/v1/runs/{run_id}/cancel")
                assert r.status_code in (202, 409), r.text
        finally:
            for w in workers:
                stop(w)
        seen: list[str] = []
        cursor = None
        while True:
            page = (await http.get("/api/v1/runs", params={"limit": 500, **({"cursor": cursor} if cursor else {})})).json()
            seen += [x["id"] for x in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    return {"create_rps": len(ids) / create_s, "created": len(ids), "succeeded_while_polling": done,
            "lost": len(set(ids) - set(seen)), "duplicated": (len(seen) - len(set(seen))) + retried_dups
            + len(set(seen) - set(ids)),
            "baseline": summary(base, base_app, seconds), "loaded": summary(loaded, loaded_app, seconds)}


def run_backend(name: str, db_url: str, args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    env = {**os.environ, "GIGAWATT_DB": db_url}
    token = subprocess.run([*GIGAWATT, "token", "create", "--workspace", "bench", "--role", "editor"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    log = tmp / f"{name}.log"
    server = start(["serve", "--port", str(port), "--workers", "0"], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        return asyncio.run(scenario_run(
            url, token, args.clients, args.runs // args.clients, args.seconds, args.interval,
            lambda: [start(["worker"], env, log) for _ in range(args.workers)]))
    except Exception:
        print(f"--- end of the {name} server log ---", *log.read_text().splitlines()[-40:], sep="\n")
        raise
    finally:
        stop(server)


def median_of(results: list[dict[str, object]]) -> dict[str, object]:
    """Median of each figure over the repeats; lost and duplicated runs are summed."""
    out: dict[str, object] = {}
    for key in ("create_rps", "succeeded_while_polling", "created"):
        out[key] = statistics.median(float(r[key]) for r in results)  # type: ignore[arg-type]
    for key in ("lost", "duplicated"):
        out[key] = sum(int(r[key]) for r in results)  # type: ignore[call-overload]
    for phase in ("baseline", "loaded"):
        rows = [r[phase] for r in results]
        out[phase] = {k: statistics.median(row[k] for row in rows) for k in rows[0]}  # type: ignore[index,union-attr,attr-defined]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0, help="polling time per phase")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between a client's reads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="medians over this many runs per backend")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        print(f"{args.clients} clients, {args.runs} runs, {args.workers} workers, one status read per client "
              f"every {args.interval}s, {args.seconds:g}s per phase, median of {args.repeat}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"{'backend':<11} {'phase':<9} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'app p50':>8} "
              f"{'app p99':>8}  notes")
        for name in args.backends:
            pg = PostgresServer() if name == "postgresql" else None
            results = []
            try:
                for i in range(args.repeat):
                    url = pg.new_database() if pg else f"sqlite:///{tmp / f'bench{i}.db'}"
                    results.append(run_backend(name, url, args, tmp))
            finally:
                if pg:
                    pg.stop()
            r = median_of(results)
            for phase in ("baseline", "loaded"):
                s = r[phase]
                assert isinstance(s, dict)
                note = (f"created {r['created']:.0f} runs at {r['create_rps']:.0f}/s" if phase == "baseline" else
                        f"{r['succeeded_while_polling']:.0f} plans finished meanwhile; lost {r['lost']}, "
                        f"duplicated {r['duplicated']}")
                print(f"{name:<11} {phase:<9} {s['rps']:>6.0f} {s['p50_ms']:>7.1f} {s['p99_ms']:>7.1f} "
                      f"{s['app_p50_ms']:>8.2f} {s['app_p99_ms']:>8.2f}  {note}")
            b, lo = r["baseline"], r["loaded"]
            assert isinstance(b, dict) and isinstance(lo, dict)
            print(f"{name:<11} ratio     loaded / baseline: p50 {lo['p50_ms'] / b['p50_ms']:.2f}, "
                  f"p99 {lo['p99_ms'] / b['p99_ms']:.2f}; in the app p99 {lo['app_p99_ms'] / b['app_p99_ms']:.2f}")
            print(f"{name:<11} dropped connections retried so far: {RETRIES['transport']}")
            if r["lost"] or r["duplicated"]:
                raise SystemExit(f"{name}: lost or duplicated runs")


if __name__ == "__main__":
    main()
