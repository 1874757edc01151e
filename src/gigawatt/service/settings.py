"""What a running service is configured with; one object passed to the app and the workers."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DB = "sqlite:///gigawatt.db"


def database_url(url: str | None = None) -> str:
    """--db, else GIGAWATT_DB, else a SQLite file in the working directory."""
    return url or os.environ.get("GIGAWATT_DB") or DEFAULT_DB


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB
    max_scenario_bytes: int = 1_000_000          # a scenario YAML larger than this is refused (413)
    max_body_bytes: int = 1_100_000              # any request body larger than this is refused (413)
    lease_s: float = 30.0                        # a running run whose lease lapses is re-queued
    heartbeat_s: float = 1.0                     # how often a worker renews its lease and reports progress
    max_attempts: int = 3                        # claims of one run before it is failed for good
    poll_s: float = 0.5                          # an idle worker looks for work this often

    @classmethod
    def from_env(cls, db_url: str | None = None) -> Settings:
        """Tests and operators may shorten leases with GIGAWATT_LEASE_S / GIGAWATT_HEARTBEAT_S."""
        env = os.environ
        return cls(
            db_url=database_url(db_url),
            lease_s=float(env.get("GIGAWATT_LEASE_S", cls.lease_s)),
            heartbeat_s=float(env.get("GIGAWATT_HEARTBEAT_S", cls.heartbeat_s)),
            max_attempts=int(env.get("GIGAWATT_MAX_ATTEMPTS", cls.max_attempts)),
        )
