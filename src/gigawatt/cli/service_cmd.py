"""`gigawatt serve`, `gigawatt worker`, `gigawatt db upgrade`, `gigawatt token create|revoke`.

The service's dependencies (fastapi, uvicorn, sqlalchemy, alembic) are imported only when
one of these commands runs, so the core installs and runs without them.
"""

from __future__ import annotations

import os
import subprocess
import sys

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
    procs = [subprocess.Popen([sys.executable, "-m", "gigawatt.service.worker", "--parent-pid",
                               str(os.getpid())], env=env) for _ in range(workers)]
    console.print(f"{workers} worker process(es); API on http://{host}:{port}/api/v1 (docs at /docs)")
    try:
        uvicorn.run(create_app(settings, store), host=host, port=port, access_log=access_log,
                    log_level="info")
    finally:
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
    console.print(f"{store.engine.url.render_as_string(hide_password=True)}: at migration {revision}")


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


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
    app.add_typer(db_app, name="db")
    app.add_typer(token_app, name="token")
