"""Issue 8, finding 6: password endpoints are throttled, locked out, and HTTP Basic is off in production."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456"  # the factories' password


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def basic(client, email, password, ip="203.0.113.7"):
    token = base64.b64encode(f"{email}:{password}".encode()).decode()
    return client.get("/api/orgs/", HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR=ip)


def admin_login(client, email, password, ip="203.0.113.7"):
    return client.post("/admin/login/", {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_basic_auth_locks_out_after_repeated_failures_with_a_json_429(client, owner, axes_on):
    assert [basic(client, "owner@example.com", "wrong").status_code for _ in range(2)] == [401, 401]

    locked = basic(client, "owner@example.com", "wrong")

    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert "Too many failed sign-in attempts" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == 15 * 60
    # Locked means the right password is refused too, until the cool-off passes.
    assert basic(client, "owner@example.com", PASSWORD).status_code == 429


def test_a_lockout_is_for_one_account_from_one_address(client, owner, admin_user, axes_on):
    for _ in range(3):
        basic(client, "owner@example.com", "wrong")

    assert basic(client, "owner@example.com", PASSWORD, ip="198.51.100.9").status_code == 200
    assert basic(client, "admin@example.com", PASSWORD).status_code == 200


def test_spellings_of_one_address_count_as_one_account(client, owner, axes_on):
    for spelling in ("owner@example.com", "OWNER@example.com", "Owner@Example.COM"):
        basic(client, spelling, "wrong")
    assert basic(client, "owner@example.com", PASSWORD).status_code == 429


def test_the_lockout_ends_after_the_cool_off(client, owner, axes_on):
    for _ in range(3):
        basic(client, "owner@example.com", "wrong")
    assert basic(client, "owner@example.com", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert basic(client, "owner@example.com", PASSWORD).status_code == 200


def test_a_successful_sign_in_resets_the_count(client, axes_on):
    make_user("ops@example.com", is_staff=True)
    for _ in range(2):
        admin_login(client, "ops@example.com", "wrong")
    assert admin_login(client, "ops@example.com", PASSWORD).status_code == 302
    client.logout()

    # Two more failures would have been the third and fourth without the reset.
    assert [admin_login(client, "ops@example.com", "wrong").status_code for _ in range(2)] == [200, 200]


def test_the_admin_login_locks_out_with_a_429_message(client, axes_on):
    make_user("ops@example.com", is_staff=True)
    for _ in range(2):
        assert admin_login(client, "ops@example.com", "wrong").status_code == 200  # the form again

    locked = admin_login(client, "ops@example.com", "wrong")

    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    assert int(locked["Retry-After"]) == 15 * 60
    assert admin_login(client, "ops@example.com", PASSWORD).status_code == 429
    assert admin_login(client, "ops@example.com", PASSWORD, ip="198.51.100.9").status_code == 302


def _production_settings(**env: str) -> list[str]:
    """BASIC_AUTH_ENABLED and the DRF authenticators as a fresh production process sees them."""
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.base'; django.setup()\n"
        "from django.conf import settings\n"
        "print(settings.BASIC_AUTH_ENABLED)\n"
        "print(any('Basic' in c for c in settings.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']))\n"
        "print(settings.AXES_ENABLED)\n"
    )
    base = {
        "PATH": "/usr/bin:/bin",
        "BOTWRIGHT_PRODUCTION": "true",
        "DJANGO_SECRET_KEY": "a-production-secret",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",  # never connected to
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env={**base, **env}, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.slow
def test_basic_auth_is_off_in_production_without_cognito():
    assert _production_settings() == ["False", "False", "True"]


@pytest.mark.slow
def test_basic_auth_in_production_only_when_explicitly_enabled():
    assert _production_settings(BASIC_AUTH_ENABLED="true") == ["True", "True", "True"]


def test_a_sign_in_without_a_client_address_is_recorded_without_one(client, owner, axes_on):
    """axes logs every sign-in with its address; a request that has none (``force_login`` builds such
    a request) was logged as "unknown", which PostgreSQL's inet column refuses."""
    from axes.models import AccessLog
    from django.test import RequestFactory

    from accounts.lockout import lockout_client_ip

    request = RequestFactory().get("/")
    del request.META["REMOTE_ADDR"]
    assert lockout_client_ip(request) is None
    assert lockout_client_ip(RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")) == "203.0.113.7"

    client.force_login(owner)

    assert client.get("/api/orgs/").status_code == 200
    assert AccessLog.objects.filter(ip_address__isnull=True).exists()
