"""Fuzz the API from its own OpenAPI schema (schemathesis): no 500s, and every response,
errors included, matches the schema. A bounded number of examples per route, replayed the
same way every run (the CI hypothesis profile is derandomised)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.specs.openapi import checks as oas  # noqa: E402
from service_support import Api  # noqa: E402

CHECKS = [schemathesis.checks.not_a_server_error, oas.status_code_conformance,
          oas.content_type_conformance, oas.response_headers_conformance, oas.response_schema_conformance]

# schemathesis reads the schema when the module is collected, so the app is built here.
_DIR = Path(tempfile.mkdtemp(prefix="gigawatt-fuzz-"))
atexit.register(shutil.rmtree, _DIR, True)
API = Api(f"sqlite:///{_DIR / 'fuzz.db'}")
API.upload()
API.run()
schema = schemathesis.openapi.from_asgi("/openapi.json", API.client.app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=API.headers("admin"), checks=CHECKS)
