"""One exception hierarchy; every message says what to fix."""

from __future__ import annotations


class GigawattError(Exception):
    """Base of every error gigawatt raises on purpose."""


class ScenarioError(GigawattError):
    """A scenario file is unreadable or does not validate.

    `file`, `line`, `path` (like ``sites[2].power_mw``) locate the problem; the
    message says what was found and what is expected.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.detail = message
        where = file or "<scenario>"
        if line is not None:
            where += f":{line}"
        prefix = f"{where}: " + (f"{path}: " if path else "")
        super().__init__((prefix + message).replace("\n", " "))


class CatalogError(GigawattError):
    """An unknown catalog id or a catalog entry without the data asked for."""


class PlanError(GigawattError):
    """The planner could not build or solve a model."""


class TraceError(GigawattError):
    """A workload trace row is malformed."""


class SimulationError(GigawattError):
    """The simulator was given an inconsistent fleet or workload."""
