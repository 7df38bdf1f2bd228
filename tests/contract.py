"""The API contract, checked on every response the test suite produces.

Every request a test makes through Django's test client (``APIClient`` included) to an ``/api/``
path has its response validated against the OpenAPI schema that ``/api/schema/`` serves, with
openapi-core: the status code must be documented for that path and method, and the body must match
the documented schema for its content type. A response that drifts fails the test that made it
(``api_contract`` fixture, autouse), whatever that test asserts itself.

- Paths outside the schema (unknown routes, the slashless aliases) must still answer JSON errors
  in the one error shape, or be an alias of a documented route.
- 500s are not documented per operation (handler500 answers them in the error shape); streamed
  responses (``text/event-stream``) and binary bodies (images) are checked for status and content
  type only.
- ``RECORD`` keeps every (path template, method, status) seen; ``tests/api/test_contract_coverage``
  uses it to prove every operation answers 2xx, and a full run prints what no test reached.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test.client import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SKIPPED_PREFIXES = ("/api/schema/", "/api/docs/")
_ROUTE_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass
class ContractRecord:
    """What the suite sent and what the contract said about it."""

    seen: list[tuple[str, str, int]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, template: str, method: str, status: int) -> None:
        with self.lock:
            self.seen.append((template, method, status))

    def fail(self, message: str) -> None:
        with self.lock:
            self.violations.append(message)

    def succeeded(self, since: int = 0) -> set[tuple[str, str]]:
        """(template, METHOD) answered 2xx, from the ``since``-th response on."""
        return {(template, method) for template, method, status in self.seen[since:] if 200 <= status < 300}


RECORD = ContractRecord()


@functools.cache
def schema() -> dict[str, Any]:
    """The document /api/schema/ serves (the same generator, rendered to plain JSON)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


@functools.cache
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(schema())


def operations() -> set[tuple[str, str]]:
    """Every (path template, METHOD) of the schema."""
    methods = {"get", "post", "put", "patch", "delete"}
    return {
        (path, method.upper())
        for path, item in schema()["paths"].items()
        for method in item
        if method in methods
    }


def _template(response: Any) -> str | None:
    """The schema path of the route Django resolved: ``api/orgs/<uuid:org_id>/`` is
    ``/api/orgs/{org_id}/``."""
    match = getattr(getattr(response, "wsgi_request", None), "resolver_match", None)
    if match is None or not match.route:
        return None
    return "/" + _ROUTE_PARAMETER.sub(r"{\1}", match.route.removeprefix("^").removesuffix("$"))


def _headers(response: Any) -> dict[str, str]:
    return {name: value for name, value in response.headers.items()}


def _error_shape_problem(response: Any) -> str | None:
    """Why a response is not the one JSON error shape, or None."""
    if "application/json" not in response.get("Content-Type", ""):
        return f"answered {response.get('Content-Type')!r}, not JSON"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "answered a body that is not JSON"
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return f"answered {body!r}: errors need a string `detail`"
    return None


def check(method: str, path: str, query: str, response: Any) -> Iterator[str]:
    """Contract violations of one response (empty when it keeps the contract)."""
    status = response.status_code
    template = _template(response)
    documented = operations()
    paths = {p for p, _ in documented}
    if template not in paths:
        # Unknown routes, slashless aliases, redirects: JSON errors in the one shape, nothing else.
        if status >= 400 or status in (301, 308):
            problem = _error_shape_problem(response) if status >= 400 or response.content else None
            if problem:
                yield f"{method} {path} -> {status} {problem}"
        return
    RECORD.add(template, method, status)
    if status >= 500 and status != 503:
        problem = _error_shape_problem(response)
        if problem:
            yield f"{method} {path} -> {status} {problem}"
        return
    if (template, method) not in documented:
        if status != 405:
            yield f"{method} {path} -> {status}: the schema has no {method} {template}"
        elif problem := _error_shape_problem(response):
            yield f"{method} {path} -> 405 {problem}"
        return
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    documented_response = schema()["paths"][template][method.lower()]["responses"].get(str(status))
    if documented_response is None:
        yield f"{method} {path} -> {status}: status not documented for {method} {template}"
        return
    streaming = getattr(response, "streaming", False)
    if not streaming and not response.content:
        if documented_response.get("content"):
            yield f"{method} {path} -> {status}: empty body, the schema documents one"
        return
    binary = not (content_type.endswith("json") or content_type.startswith("text/"))
    if streaming or binary:
        if content_type not in documented_response.get("content", {}):
            yield f"{method} {path} -> {status} {content_type}: content type not documented"
        return
    request = MockRequest("http://testserver", method.lower(), path, path_pattern=template, args=None)
    mock = MockResponse(
        response.content, status_code=status, headers=_headers(response), content_type=content_type or ""
    )
    for error in openapi().iter_response_errors(request, mock):
        cause = error.__cause__ or error
        details = getattr(cause, "schema_errors", None) or []
        reasons = "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in details)
        where = f"{method} {path}{'?' + query if query else ''} -> {status}"
        yield f"{where}: {reasons or str(error)[:500]}"


_original_request = Client.request


def _checked_request(self: Client, **environ: Any) -> Any:
    response = _original_request(self, **environ)
    path = environ.get("PATH_INFO", "")
    if path.startswith("/api") and not path.startswith(SKIPPED_PREFIXES):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method not in ("OPTIONS", "HEAD"):
            for violation in check(method, path, environ.get("QUERY_STRING", ""), response):
                RECORD.fail(violation)
    return response


@pytest.fixture(scope="session", autouse=True)
def _api_contract_client():
    """Route every test client request through the contract check, for the whole session."""
    Client.request = _checked_request
    yield
    Client.request = _original_request


@pytest.fixture(autouse=True)
def api_contract(_api_contract_client):
    """Fails the test if any API response it produced drifted from the schema."""
    start = len(RECORD.violations)
    yield RECORD
    drift = RECORD.violations[start:]
    if drift:
        pytest.fail("API responses drift from /api/schema/:\n  " + "\n  ".join(drift), pytrace=False)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not RECORD.seen:
        return
    missing = sorted(operations() - RECORD.succeeded())
    terminalreporter.write_sep(
        "-", f"API contract: {len(operations()) - len(missing)} operations answered 2xx"
    )
    if missing:
        terminalreporter.write_line(
            "Not reached with a 2xx in this run: " + ", ".join(f"{m} {p}" for p, m in missing)
        )
