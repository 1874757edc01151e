"""Alembic migrations, applied on start (`gigawatt serve`) or by hand (`gigawatt db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

from gigawatt.service.store.db import Store, StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x6167_7761   # two servers starting at once migrate one after the other


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(store: Store, revision: str = "head") -> str:
    """Bring the database to `revision`; returns the revision it is at afterwards."""
    cfg = _config()
    try:
        with store._writer.begin() as conn:
            if not store.is_sqlite:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise StoreError(f"cannot reach the database {store.engine.url!r}: "
                         f"{str(exc.orig).strip().splitlines()[0]}") from None
    return current(store) or "base"
