"""Helpers for the service tests: a real PostgreSQL server, databases, tokens, a client.

PostgreSQL comes from the machine (Debian's `postgresql` package: initdb and pg_ctl);
.ci/run installs it. Without it the PostgreSQL tests skip with the reason, unless
GIGAWATT_REQUIRE_POSTGRES=1 (CI) makes that a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free port, run as the `postgres` user under root."""

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            reason = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
            if os.environ.get("GIGAWATT_REQUIRE_POSTGRES") == "1":
                pytest.fail(reason)
            pytest.skip(reason)
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="gigawatt-pg-"))
        self.dir.chmod(0o755)
        self.data = self.dir / "data"
        self.port = free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:          # initdb refuses to run as root
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root needs the 'postgres' user (Debian's postgresql package makes it)")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c max_connections=300", "start")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bindir / tool), *args], check=True, capture_output=True,
                       cwd=self.dir)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


GIGAWATT = [sys.executable, "-m", "gigawatt"]
ENV = {**os.environ, "GIGAWATT_LEASE_S": "3", "GIGAWATT_HEARTBEAT_S": "0.5"}


class Server:
    def __init__(self, db_url: str, log: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.log = log.open("ab")
        self.proc = subprocess.Popen([*GIGAWATT, "serve", "--db", db_url, "--port", str(self.port),
                                      "--workers", str(workers)], env=ENV, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _httpx().get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except _httpx().TransportError:
                time.sleep(0.2)
        self.kill()
        raise AssertionError(f"server did not start; see {log}")

    def kill(self) -> None:
        """SIGKILL to the server, its workers and their run processes at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def _httpx():  # type: ignore[no-untyped-def]
    import httpx

    return httpx


def minimal_yaml() -> str:
    return (EXAMPLES / "minimal.yaml").read_text()


# ---- fixtures (registered for the whole test suite by conftest's pytest_plugins) ----

@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty database on each backend: a SQLite file, then a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return str(request.getfixturevalue("postgres_server").new_database())


class Api:
    """An app on a migrated database, a client, and tokens of each role in workspace 'acme'
    plus an admin of workspace 'other'."""

    def __init__(self, db_url: str) -> None:
        from fastapi.testclient import TestClient

        from gigawatt.service.app import create_app
        from gigawatt.service.auth import create_token
        from gigawatt.service.settings import Settings
        from gigawatt.service.store import Store
        from gigawatt.service.store.migrate import upgrade

        self.settings = Settings(db_url=db_url, max_scenario_bytes=200_000, max_body_bytes=300_000)
        self.store = Store(db_url)
        upgrade(self.store)
        self.client = TestClient(create_app(self.settings, self.store), raise_server_exceptions=False)
        self.tokens = {role: create_token(self.store, "acme", role)[1] for role in ("viewer", "editor", "admin")}
        self.tokens["other"] = create_token(self.store, "other", "admin")[1]

    def headers(self, who: str = "editor") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, url: str, who: str = "editor", **kw):  # type: ignore[no-untyped-def]
        return self.client.get(url, headers=self.headers(who), **kw)

    def post(self, url: str, who: str = "editor", **kw):  # type: ignore[no-untyped-def]
        headers = {**self.headers(who), **kw.pop("headers", {})}
        return self.client.post(url, headers=headers, **kw)

    def upload(self, name: str = "minimal", text: str | None = None):  # type: ignore[no-untyped-def]
        return self.post("/api/v1/scenarios", json={"name": name, "yaml": text or minimal_yaml()})

    def run(self, kind: str = "plan", scenario: str = "minimal", **options):  # type: ignore[no-untyped-def]
        return self.post("/api/v1/runs", json={"kind": kind, "scenario": scenario, **options})

    def work(self) -> int:
        """Execute every queued run with a real worker (forked child per run); how many ran."""
        from gigawatt.service.worker import Worker

        worker = Worker(self.settings, name="test-worker")
        done = 0
        while worker.step():
            done += 1
        worker.store.dispose()
        return done

    def close(self) -> None:
        self.client.close()
        self.store.dispose()


@pytest.fixture
def api(db_url: str):  # type: ignore[no-untyped-def]
    a = Api(db_url)
    yield a
    a.close()
