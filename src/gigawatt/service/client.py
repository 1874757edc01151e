"""A thin client: send `plan` and `simulate` to a gigawatt server and poll with a progress bar.

Needs only httpx. The scenario is uploaded (a bad one fails with the server's located message,
the same as `gigawatt validate` prints), the run is queued with an idempotency key (a retried
POST cannot start it twice), then polled; Ctrl-C cancels the run on the server.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from pathlib import Path
from typing import Any

from gigawatt.errors import GigawattError

POLL_S = 0.5


class RemoteError(GigawattError):
    """The server refused a request or a run failed there."""


class Client:
    def __init__(self, server: str, token: str | None) -> None:
        try:
            import httpx
        except ModuleNotFoundError:
            raise GigawattError("--server needs httpx: pip install httpx") from None
        if not token:
            raise GigawattError("--server needs a token: set GIGAWATT_TOKEN or pass --token "
                                "(an admin creates one with `gigawatt token create`)")
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"})
        self._transport_error = httpx.TransportError

    def call(self, method: str, url: str, **kw: Any) -> Any:
        for attempt in range(3):       # POSTs carry an idempotency key, so retries are safe
            try:
                r = self.http.request(method, url, **kw)
                break
            except self._transport_error as exc:
                if attempt == 2:
                    raise RemoteError(f"cannot reach {self.server}: {exc}") from None
                time.sleep(1 + attempt)
        if r.status_code >= 400:
            try:
                message = r.json().get("error", r.text)
            except ValueError:
                message = r.text[:200]
            raise RemoteError(f"{self.server}: {message}")
        return r

    def upload(self, file: Path) -> tuple[str, int]:
        try:
            text = file.read_text("utf-8")
        except OSError as exc:
            raise GigawattError(f"{file}: cannot read: {exc}") from None
        name = re.sub(r"[^A-Za-z0-9._-]", "-", file.stem)[:100].lstrip(".-_") or "scenario"
        try:
            body = self.call("POST", "/api/v1/scenarios", json={"name": name, "yaml": text}).json()
        except RemoteError as exc:
            # The server names the scenario; say the file, as `gigawatt validate` would.
            raise RemoteError(str(exc).removeprefix(f"{self.server}: ").replace(f"{name}:", f"{file}:", 1)) from None
        return name, int(body["version"])

    def start(self, kind: str, name: str, version: int, options: dict[str, Any]) -> dict[str, Any]:
        body = {"kind": kind, "scenario": name, "version": version, **options}
        run: dict[str, Any] = self.call("POST", "/api/v1/runs", json=body,
                                        headers={"Idempotency-Key": uuid.uuid4().hex}).json()
        return run

    def wait(self, run: dict[str, Any], show: bool) -> dict[str, Any]:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                          TimeElapsedColumn(), console=console, transient=True, disable=not show) as bar:
                task = bar.add_task(f"{run['kind']} {run['id'][:8]}: queued", total=1.0)
                while run["status"] in ("queued", "running"):
                    time.sleep(POLL_S)
                    run = self.call("GET", f"/api/v1/runs/{run['id']}").json()
                    bar.update(task, completed=run["progress"],
                               description=f"{run['kind']} {run['id'][:8]}: {run['phase']}")
        except KeyboardInterrupt:
            self.call("POST", f"/api/v1/runs/{run['id']}/cancel")
            console.print(f"cancelled run {run['id']} on {self.server}")
            raise
        if run["status"] != "succeeded":
            raise RemoteError(f"run {run['id']} {run['status']} on {self.server}: {run['error'] or 'cancelled'}")
        return run

    def summary(self, run_id: str) -> dict[str, Any]:
        index: dict[str, Any] = self.call("GET", f"/api/v1/runs/{run_id}/result").json()
        return index

    def plan(self, run_id: str) -> Any:
        """The finished plan as a gigawatt Plan: its summary plus every table (Parquet, lossless)."""
        import pandas as pd

        from gigawatt.plan.result import Plan

        index = self.summary(run_id)
        s = index["summary"]
        tables = {name: pd.read_parquet(io.BytesIO(self.call(
            "GET", f"/api/v1/runs/{run_id}/result/{name}", params={"format": "parquet"}).content))
            for name in index["tables"]}
        return Plan(status=s["status"], npv_usd=s["npv_usd"], tables=tables, binding=s["binding"],
                    explanations=s["explanations"], unit_costs=s["unit_costs"], metadata=s["metadata"],
                    penalties_usd=s.get("penalties_usd", {}))
