"""Errors the API answers with: one JSON shape, {"error", "code", ...}, and the right status."""

from __future__ import annotations

from typing import Any

from gigawatt.errors import GigawattError


class ApiError(GigawattError):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.extra}


def not_found(what: str, ident: str) -> ApiError:
    # The same answer whether the id does not exist or belongs to another workspace.
    return ApiError(404, "not_found", f"no {what} '{ident}' in this workspace")


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)
