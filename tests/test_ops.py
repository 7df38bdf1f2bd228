"""Operations: the per-request log record, X-Request-Id, and production start-up/deploy checks."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from config.logging import JsonFormatter
from config.middleware import RequestLogMiddleware

BASE_DIR = Path(__file__).resolve().parent.parent
MIDDLEWARE_PATH = "config.middleware.RequestLogMiddleware"
HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def request_log(settings, caplog):
    """Installs the middleware (first, as production does) and returns the captured request records."""
    if MIDDLEWARE_PATH not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [MIDDLEWARE_PATH, *settings.MIDDLEWARE]
    caplog.set_level(logging.INFO, logger="botwright.request")

    def records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "botwright.request"]

    return records


def _everything_in(record: logging.LogRecord) -> str:
    """Every value the record carries plus both renderings, to search for leaks."""
    return " ".join(
        [str(v) for v in vars(record).values()] + [record.getMessage(), JsonFormatter().format(record)]
    )


def test_request_log_records_one_structured_record(client, request_log, owner, org, bot):
    client.force_login(owner)

    # Unknown query parameters are refused (400, api.base.APIView); refused or not, the query string
    # a client sent is never logged.
    response = client.get(f"/api/orgs/{org.id}/bots/{bot.id}/?visitor=v-4711&q=secret-question")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"visitor", "q"}
    [record] = request_log()
    assert record.levelno == logging.INFO
    assert record.method == "GET"
    assert record.path == f"/api/orgs/{org.id}/bots/{bot.id}/"
    assert record.route == "api/orgs/<uuid:org_id>/bots/<uuid:bot_id>/"
    assert record.status == 400
    assert isinstance(record.latency_ms, float) and record.latency_ms >= 0
    assert record.user == str(owner.pk)
    assert record.org == str(org.id)
    assert record.bot == str(bot.id)
    assert HEX32.fullmatch(record.request_id)
    assert response["X-Request-Id"] == record.request_id
    logged = _everything_in(record)
    assert "v-4711" not in logged and "secret-question" not in logged
    assert owner.email not in logged


def test_request_log_never_contains_authorization_values(client, request_log, owner, org):
    basic = base64.b64encode(f"{owner.email}:pw-123456".encode()).decode()

    client.get("/api/auth/me/", HTTP_AUTHORIZATION="Bearer eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln")
    client.get(f"/api/orgs/{org.id}/", HTTP_AUTHORIZATION=f"Basic {basic}", HTTP_COOKIE="sessionid=s3cr3t")

    records = request_log()
    assert [r.status for r in records] == [401, 200]
    assert records[1].user == str(owner.pk)  # DRF's Basic authentication is visible to the log
    for record in records:
        logged = _everything_in(record)
        assert "eyJhbGciOiJSUzI1NiJ9" not in logged
        assert basic not in logged and "pw-123456" not in logged and "s3cr3t" not in logged
        assert "Bearer" not in logged and "Basic" not in logged


def test_request_id_header_round_trips_when_safe(client, request_log):
    response = client.get("/api/health/", HTTP_X_REQUEST_ID="web-01HZX3K8Q2.retry_2")

    assert response["X-Request-Id"] == "web-01HZX3K8Q2.retry_2"
    [record] = request_log()
    assert record.request_id == "web-01HZX3K8Q2.retry_2"
    assert not hasattr(record, "client_request_id")


@pytest.mark.parametrize(
    "unsafe",
    [
        "abc\nINFO forged log line",
        '"><script>alert(1)</script>',
        "has spaces in it",
        "short",
        "x" * 129,
    ],
)
def test_request_id_header_is_replaced_when_unsafe(client, request_log, unsafe):
    response = client.get("/api/health/", HTTP_X_REQUEST_ID=unsafe)

    [record] = request_log()
    assert HEX32.fullmatch(response["X-Request-Id"])
    assert record.request_id == response["X-Request-Id"]
    assert unsafe not in _everything_in(record)


def test_request_id_prefers_the_api_gateway_id_on_lambda(client, request_log):
    lambda_environ = {
        "lambda.event": {"requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}},
        "lambda.context": SimpleNamespace(aws_request_id="0b4e5f2a-1111-4c3d-9e8f-123456789abc"),
    }

    response = client.get("/api/health/", HTTP_X_REQUEST_ID="browser-trace-0001", **lambda_environ)

    [record] = request_log()
    assert response["X-Request-Id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert record.request_id == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert record.lambda_request_id == "0b4e5f2a-1111-4c3d-9e8f-123456789abc"
    assert record.client_request_id == "browser-trace-0001"


def test_request_id_falls_back_to_the_lambda_invocation_id(client, request_log):
    context = SimpleNamespace(aws_request_id="0b4e5f2a-1111-4c3d-9e8f-123456789abc")

    response = client.get("/api/health/", **{"lambda.event": {}, "lambda.context": context})

    assert response["X-Request-Id"] == "0b4e5f2a-1111-4c3d-9e8f-123456789abc"
    [record] = request_log()
    assert not hasattr(record, "lambda_request_id")  # same value as request_id: not repeated


def test_request_log_takes_the_bot_from_a_public_url(client, request_log, bot):
    client.get(f"/api/public/bots/{bot.public_id}/?visitor_id=v-99")

    [record] = request_log()
    assert record.bot == bot.public_id
    assert not hasattr(record, "org")
    assert not hasattr(record, "user")
    assert record.path == f"/api/public/bots/{bot.public_id}/"


def test_request_log_covers_unresolved_urls(client, request_log):
    response = client.get("/no/such/page?token=abc")

    [record] = request_log()
    assert record.status == 404
    assert record.path == "/no/such/page"
    assert not hasattr(record, "route")
    assert response["X-Request-Id"] == record.request_id


def test_client_ip_is_logged_only_when_the_setting_allows(client, request_log, settings):
    client.get("/api/health/", REMOTE_ADDR="203.0.113.7")
    assert not hasattr(request_log()[-1], "client_ip")
    assert "203.0.113.7" not in _everything_in(request_log()[-1])

    settings.REQUEST_LOG_CLIENT_IP = True
    client.handler.load_middleware()  # the setting is read once, when the middleware is built
    client.get("/api/health/", REMOTE_ADDR="203.0.113.7")
    assert request_log()[-1].client_ip == "203.0.113.7"


def test_request_log_does_not_load_a_user_nobody_looked_at(caplog):
    caplog.set_level(logging.INFO, logger="botwright.request")
    loaded = []
    request = RequestFactory().get("/anything")
    request.user = SimpleLazyObject(lambda: loaded.append(True))

    RequestLogMiddleware(lambda r: HttpResponse("ok"))(request)

    [record] = caplog.records
    assert loaded == []
    assert not hasattr(record, "user")


def test_server_errors_are_logged_at_error_level(caplog):
    caplog.set_level(logging.INFO, logger="botwright.request")

    RequestLogMiddleware(lambda r: HttpResponse(status=503))(RequestFactory().post("/api/x"))

    [record] = caplog.records
    assert (record.levelno, record.status, record.method) == (logging.ERROR, 503, "POST")


def test_json_formatter_writes_one_object_per_line_with_the_request_fields(
    client, request_log, owner, org, bot
):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    request_logger = logging.getLogger("botwright.request")
    request_logger.addHandler(handler)
    client.force_login(owner)
    try:
        client.get(f"/api/orgs/{org.id}/bots/{bot.id}/")
        client.get("/api/health/", HTTP_X_REQUEST_ID="trace-0000000042")
    finally:
        request_logger.removeHandler(handler)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["logger"] == "botwright.request"
    assert first["level"] == "INFO"
    assert {k: first[k] for k in ("method", "path", "status", "user", "org", "bot")} == {
        "method": "GET",
        "path": f"/api/orgs/{org.id}/bots/{bot.id}/",
        "status": 200,
        "user": str(owner.pk),
        "org": str(org.id),
        "bot": str(bot.id),
    }
    assert isinstance(first["latency_ms"], float)
    assert HEX32.fullmatch(first["request_id"])
    assert second["request_id"] == "trace-0000000042"
    assert "v-1" not in lines[0]


# --- production configuration ------------------------------------------------------------------


def _production_env(**overrides: str) -> dict[str, str]:
    """A clean environment (nothing inherited from the test run) that looks like the Lambda one."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "BOTWRIGHT_PRODUCTION": "true",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        "DJANGO_DEBUG": "false",
        # `check` without --database never connects, so nothing needs to listen here.
        "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/x",
        "DJANGO_ALLOWED_HOSTS": "api.example.com",
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_REGION": "eu-west-1",
        "VECTOR_STORE": "dynamodb",
        "COGNITO_USER_POOL_ID": "eu-west-1_abc",
        "COGNITO_APP_CLIENT_ID": "xyz",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_deploy_check_passes_with_production_settings():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_deploy_security_checks_pass_with_production_settings():
    # The security subset alone: keeps HSTS/SSL/cookie regressions visible on their own.
    args = ["manage.py", "check", "--deploy", "--fail-level", "WARNING", "--tag", "security"]

    result = _run(args, _production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


_SETUP = "import django; django.setup(); print('started')"


@pytest.mark.slow
def test_production_start_up_refuses_the_default_secret_key_and_sqlite():
    env = _production_env()
    del env["DJANGO_SECRET_KEY"], env["DATABASE_URL"]

    result = _run(["-c", _SETUP], env)

    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "DATABASE_URL" in result.stderr


@pytest.mark.slow
def test_production_start_up_refuses_sqlite_even_with_a_secret_key():
    env = _production_env()
    del env["DATABASE_URL"]

    result = _run(["-c", _SETUP], env)

    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "DJANGO_SECRET_KEY" not in result.stderr


@pytest.mark.slow
def test_lambda_environment_alone_turns_on_the_production_checks():
    env = _production_env(AWS_LAMBDA_FUNCTION_NAME="botwright-production")
    del env["BOTWRIGHT_PRODUCTION"], env["DJANGO_SECRET_KEY"]

    result = _run(["-c", _SETUP], env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_production_settings_start_when_complete():
    # The counterpart of the refusals above: they fail for the missing values, not for anything else.
    result = _run(["-c", _SETUP], _production_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"
