"""`gigawatt serve`, `gigawatt worker`, `gigawatt db upgrade`, `gigawatt token create|revoke`.

The service's dependencies (fastapi, uvicorn, sqlalchemy, alembic) are imported only when
one of these commands runs, so the core installs and runs without them.
"""

from __future__ import annotations

import functools
import inspect
import os
import subprocess
import sys
import threading
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from gigawatt.cli.output import console, print_json
from gigawatt.errors import GigawattError

DB_HELP = "database URL: sqlite:///file.db (default: $GIGAWATT_DB or ./gigawatt.db) or postgresql+psycopg://..."
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

db_app = typer.Typer(help="The service's database.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for the service.", no_args_is_help=True)


def _service() -> None:
    try:
        import alembic  # noqa: F401
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise GigawattError(f"the service needs '{exc.name}': pip install 'gigawatt[service]'") from None


def _migrated(db: str | None):  # type: ignore[no-untyped-def]
    _service()
    from gigawatt.service.settings import Settings
    from gigawatt.service.store import Store
    from gigawatt.service.store.migrate import upgrade

    settings = Settings.from_env(db)
    store = Store(settings.db_url)
    revision = upgrade(store)
    return settings, store, revision


def serve(
    host: str = typer.Option("127.0.0.1", help="interface to bind (default: this machine only)"),
    port: int = typer.Option(8000, help="TCP port"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    workers: int = typer.Option(2, min=0, help="worker processes that execute runs (0: API only)"),
    access_log: bool = typer.Option(False, help="log every request"),
) -> None:
    """Serve the REST API under /api/v1, with worker processes executing queued runs."""
    settings, store, revision = _migrated(db)
    import uvicorn

    from gigawatt.service.app import create_app

    console.print(f"database {store.engine.url.render_as_string(hide_password=True)} at migration {revision}")
    if host not in LOCAL_HOSTS:
        console.print(f"[yellow]listening on {host}: reachable from other machines; every route but "
                      "/health needs a token[/yellow]")
    env = {**os.environ, "GIGAWATT_DB": settings.db_url}      # not in argv, where `ps` shows it

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "gigawatt.service.worker", "--parent-pid",
                                 str(os.getpid())], env=env)

    procs = [spawn() for _ in range(workers)]
    stopping = threading.Event()

    def supervise() -> None:       # a worker that died is replaced; its run is re-queued by lease
        while not stopping.wait(2.0):
            for i, p in enumerate(procs):
                if p.poll() is not None and not stopping.is_set():
                    console.print(f"worker {p.pid} exited with code {p.returncode}; starting another")
                    procs[i] = spawn()

    threading.Thread(target=supervise, daemon=True).start()
    console.print(f"{workers} worker process(es); API on http://{host}:{port}/api/v1 (docs at /docs), "
                  f"dashboard at http://{host}:{port}/")
    try:
        uvicorn.run(create_app(settings, store), host=host, port=port, access_log=access_log,
                    log_level="info")
    finally:
        stopping.set()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def worker(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Run one worker process (more hosts can share a PostgreSQL database)."""
    settings, _, _ = _migrated(db)
    from gigawatt.service.worker import main

    main(settings.db_url)


@db_app.command("upgrade")
def db_upgrade(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Apply the service's migrations (serve does this on start)."""
    _, store, revision = _migrated(db)
    console.print(f"{store.engine.url.render_as_string(hide_password=True)}: at migration {revision}",
                  soft_wrap=True)


@token_app.command("create")
def token_create(
    workspace: str = typer.Option(..., help="workspace name (created if new)"),
    role: str = typer.Option(..., help="viewer (reads), editor (also runs), admin (also tokens)"),
    name: str = typer.Option("", help="a label for the token"),
    expires_days: float | None = typer.Option(None, help="expires after this many days"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a bearer token. It is printed once; only its hash is stored."""
    _, store, _ = _migrated(db)
    from gigawatt.service.auth import create_token
    from gigawatt.service.errors import ApiError

    try:
        row, secret = create_token(store, workspace, role, name,
                                   expires_days * 86400 if expires_days else None)
    except ApiError as exc:
        raise GigawattError(f"--workspace/--role: {exc.message}") from None
    if as_json:
        return print_json({"id": row.id, "workspace": workspace, "role": role, "token": secret})
    print(secret)
    Console(stderr=True).print(f"token {row.id} ({role} in workspace '{workspace}'): shown once, "
                               "keep it safe", style="dim", highlight=False)


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(..., help="token id (the part after gw_)"),
                 db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Revoke a token at once."""
    import time

    _, store, _ = _migrated(db)
    from gigawatt.service.store.models import Token

    with store.write() as session:
        row = session.get(Token, token_id)
        if row is None:
            raise GigawattError(f"no token '{token_id}'; `gigawatt token create` prints ids")
        row.revoked_at = row.revoked_at or time.time()
    console.print(f"token {token_id} revoked")


# ---- `gigawatt --server URL plan|simulate ...`: the same commands, executed by a server ----

_target: dict[str, tuple[str, str | None] | None] = {"server": None}


def remote_options(
    server: str | None = typer.Option(None, "--server", envvar="GIGAWATT_SERVER",
                                      help="send plan and simulate to this gigawatt server"),
    token: str | None = typer.Option(None, "--token", envvar="GIGAWATT_TOKEN",
                                     help="bearer token for --server"),
) -> None:
    """gigawatt: plan, operate and stress-test AI compute at gigawatt scale."""
    # Set on every invocation (the group callback always runs first), so it never leaks between them.
    _target["server"] = (server, token) if server else None


# local-only options whose defaults are not None/False: at their default they were not asked for
LOCAL_DEFAULTS: dict[str, object] = {"placement": "first-fit", "spares": 0, "checkpoint_write": 0.0,
                                     "checkpoint_stall_share": 1.0}


def _local_only(options: dict[str, object]) -> None:
    given = [k for k, v in options.items() if v not in (None, False) and LOCAL_DEFAULTS.get(k, object()) != v]
    if given:
        raise GigawattError(f"--{given[0].replace('_', '-')} is not available with --server "
                            "(the server simulates the scenario's own fleet and workload)")


def _remote_plan(server: str, token: str | None, file: Path, out: Path | None, report: Path | None,
                 parquet: bool, as_json: bool, fail_on_shortfall: bool = False, **local_only: object) -> None:
    from gigawatt.cli.app import deliver_plan
    from gigawatt.service.client import Client

    _local_only(local_only)
    client = Client(server, token)
    name, version = client.upload(file)
    run = client.wait(client.start("plan", name, version, {}), show=Console(stderr=True).is_terminal or not as_json)
    result = client.plan(run["id"])
    deliver_plan(result, out, report, parquet, as_json, fail_on_shortfall, run=(server, str(run["id"])))


def _remote_simulate(server: str, token: str | None, file: Path, seed: int, policy: str | None,
                     until: str | None, failures: bool | None, period: str | None, as_json: bool,
                     report: Path | None, **local_only: object) -> None:
    from gigawatt.cli.app import parse_duration, table_view
    from gigawatt.service.client import Client

    _local_only(local_only)
    client = Client(server, token)
    name, version = client.upload(file)
    options = {"seed": seed, "policy": policy, "failures": failures is not False, "period": period,
               "until_s": parse_duration(until) if until else None}
    run = client.wait(client.start("simulate", name, version, options),
                      show=Console(stderr=True).is_terminal or not as_json)
    summary = client.summary(run["id"])["summary"]
    if report:
        report.write_text(client.call("GET", f"/api/v1/runs/{run['id']}/report").text, "utf-8")
    if as_json:
        facts = summary.pop("facts", {})
        summary.pop("wall_seconds", None)
        return print_json({**summary, **facts, "report": str(report) if report else None})
    console.print(table_view("Simulation", {k: v for k, v in summary.items()
                                            if not isinstance(v, dict | list)}))
    console.print(f"run {run['id']} on {server}")


def _remote_or_local(info: Any, remote: Callable[..., None]) -> None:
    """Wrap a registered command: with --server it runs remotely, else exactly as before."""
    local = info.callback

    @functools.wraps(local)
    def command(*args: Any, **kwargs: Any) -> None:
        target = _target["server"]
        if target is None:
            return local(*args, **kwargs)
        return remote(target[0], target[1], **kwargs)

    info.callback = command


def _with_remote_options(app: typer.Typer) -> None:
    """Add --server/--token to the app's own callback (keeping its options, e.g. --version)."""
    info = app.registered_callback
    existing = info.callback if info is not None else None
    if existing is None:
        app.callback()(remote_options)
        return
    theirs = inspect.signature(existing).parameters
    ours = inspect.signature(remote_options).parameters

    def combined(**kwargs: Any) -> Any:
        remote_options(**{name: kwargs.pop(name) for name in ours})
        return existing(**kwargs)

    combined.__signature__ = inspect.Signature([*theirs.values(), *ours.values()])  # type: ignore[attr-defined]
    combined.__annotations__ = {**typing.get_type_hints(existing), **typing.get_type_hints(remote_options)}
    combined.__doc__ = existing.__doc__
    info.callback = combined  # type: ignore[union-attr]


def register(app: typer.Typer) -> None:
    _with_remote_options(app)
    remotes: dict[str, Callable[..., None]] = {"plan": _remote_plan, "simulate": _remote_simulate}
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        if name in remotes:
            _remote_or_local(info, remotes[name])
    app.command()(serve)
    app.command()(worker)
    app.add_typer(db_app, name="db")
    app.add_typer(token_app, name="token")
