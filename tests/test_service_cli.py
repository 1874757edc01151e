"""The service's commands: db upgrade, token create/revoke, and one-line errors for bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from service_support import ENV, GIGAWATT, free_port  # noqa: E402

from gigawatt.service.auth import authenticate  # noqa: E402
from gigawatt.service.errors import ApiError  # noqa: E402
from gigawatt.service.store import Store  # noqa: E402


def gigawatt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GIGAWATT, *args], env=ENV, capture_output=True, text=True, timeout=120)


def test_db_upgrade_then_tokens_created_and_revoked(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    up = gigawatt("db", "upgrade", "--db", db)
    assert up.returncode == 0 and up.stdout.strip() == f"{db}: at migration 0001"
    made = gigawatt("token", "create", "--workspace", "team-a", "--role", "viewer", "--db", db)
    assert made.returncode == 0
    secret = made.stdout.strip()
    assert "shown once" in made.stderr
    store = Store(db)
    who = authenticate(store, secret)
    assert (who.workspace, who.role) == ("team-a", "viewer")
    revoked = gigawatt("token", "revoke", who.token_id, "--db", db)
    assert revoked.returncode == 0
    with pytest.raises(ApiError, match="token revoked"):
        authenticate(store, secret)
    store.dispose()


@pytest.mark.parametrize(("args", "message"), [
    (("token", "create", "--workspace", "a", "--role", "owner"),
     "error: --workspace/--role: role 'owner' is not one of viewer, editor, admin"),
    (("token", "create", "--workspace", "bad name!", "--role", "viewer"),
     "error: --workspace/--role: workspace name 'bad name!' must be 1-100 letters"),
    (("db", "upgrade", "--db", "mysql://x/y"),
     "error: --db 'mysql://x/y': only sqlite:/// and postgresql+psycopg:// are supported"),
    (("db", "upgrade", "--db", "sqlite:///:memory:"),
     "error: the service needs a SQLite file (workers are other processes)"),
    (("db", "upgrade", "--db", "not a url"), "error: --db 'not a url' is not a database URL"),
])
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    full = [*args] if "--db" in args else [*args, "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    r = gigawatt(*full)
    assert r.returncode == 2
    assert r.stderr.startswith(message) and r.stderr.count("\n") == 1, r.stderr


def test_an_unreachable_postgresql_is_one_line() -> None:
    r = gigawatt("db", "upgrade", "--db", f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/x")
    assert r.returncode == 2 and r.stderr.startswith("error: cannot reach the database"), r.stderr
    assert r.stderr.count("\n") == 1
