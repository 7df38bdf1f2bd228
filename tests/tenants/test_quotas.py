"""Quotas: the limit rule (override, default, 0 = unlimited), the month window, the settings check,
the bots quota, the usage endpoint (values, roles, isolation) and the organisation's admin page."""

from __future__ import annotations

import runpy
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from analytics.services import analytics_rebuild
from bots.models import Bot
from chat.models import Channel, Conversation, Message, Role
from documents.models import Document
from tenants import quotas
from tests.factories import make_bot, make_user

BASE_SETTINGS = Path(__file__).resolve().parents[2] / "config" / "settings" / "base.py"
MID_MARCH = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


# --- The rule and the month (no database) -------------------------------------------------------


def test_month_window_is_the_utc_calendar_month_including_december():
    march = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert quotas.month_window(MID_MARCH) == march
    start, end = quotas.month_window(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_limit_is_the_override_else_the_default_and_zero_means_unlimited(settings):
    settings.QUOTA_DEFAULTS = {**settings.QUOTA_DEFAULTS, "documents": 7, "bots": 0}
    org = quotas.Organization(name="x")
    assert quotas.quota_limit(org=org, name="documents") == 7
    assert quotas.quota_limit(org=org, name="bots") is None
    org.quota_documents, org.quota_bots = 0, 3
    assert quotas.quota_limit(org=org, name="documents") is None
    assert quotas.quota_limit(org=org, name="bots") == 3


def test_every_quota_has_a_default_a_counter_and_an_override_field(settings):
    assert list(settings.QUOTA_DEFAULTS) == list(quotas.QUOTAS)
    assert set(quotas._counters) == set(quotas.QUOTAS)
    for name in quotas.QUOTAS:
        assert hasattr(quotas.Organization, f"quota_{name}")


def test_monthly_error_says_when_it_resets_with_retry_after():
    error = quotas.quota_error(name="messages_per_month", used=10, limit=10, now=MID_MARCH)
    assert error.http_status == 429 and error.code == "quota_exceeded"
    assert error.retry_after == (datetime(2026, 4, 1, tzinfo=UTC) - MID_MARCH).total_seconds()
    assert error.extra == {
        "quota": "messages_per_month",
        "used": 10,
        "limit": 10,
        "resets_at": "2026-04-01T00:00:00Z",
    }
    assert error.message == (
        "This organisation has used 10 of its 10 messages this month (the count resets on 2026-04-01 "
        "at 00:00 UTC); ask an administrator to raise the limit to continue sooner."
    )


def test_storage_error_speaks_in_megabytes_and_names_what_is_added():
    error = quotas.quota_error(
        name="storage_bytes", used=9 * 1024**2, limit=10 * 1024**2, adding=2 * 1024**2, what="this file"
    )
    assert error.http_status == 402 and error.retry_after is None
    assert error.message == (
        "This organisation has used 9.0 MB of its 10.0 MB of storage, and this file needs 2.0 MB more; "
        "delete some documents or ask an administrator to raise the limit."
    )


# --- Settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('{"documentz": 5}', "unknown quotas ['documentz']"),
        ('{"documents": -1}', "The documents quota must be a whole number"),
        ('{"bots": 2.5}', "The bots quota must be a whole number"),
        ('{"bots": true}', "The bots quota must be a whole number"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_quota_defaults_fail_at_start_up(monkeypatch, value, fragment):
    monkeypatch.setenv("QUOTA_DEFAULTS_JSON", value)
    with pytest.raises(ImproperlyConfigured) as caught:
        runpy.run_path(str(BASE_SETTINGS))
    assert fragment in str(caught.value)


def test_quota_defaults_json_overrides_some_defaults(monkeypatch):
    monkeypatch.setenv("QUOTA_DEFAULTS_JSON", '{"documents": 200, "tokens_per_month": 0}')
    loaded = runpy.run_path(str(BASE_SETTINGS))["QUOTA_DEFAULTS"]
    assert loaded["documents"] == 200 and loaded["tokens_per_month"] == 0
    assert loaded["bots"] == 50  # the rest keep the built-in defaults


# --- Bots -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bot_quota_allows_up_to_the_limit_then_answers_402(org, editor, client_for):
    org.quota_bots = 2
    org.save()
    make_bot(org, "First")
    client = client_for(editor)
    assert client.post(f"/api/orgs/{org.pk}/bots/", {"name": "Second"}, format="json").status_code == 201
    response = client.post(f"/api/orgs/{org.pk}/bots/", {"name": "Third"}, format="json")
    assert response.status_code == 402
    assert response.json() == {
        "detail": "This organisation has used 2 of its 2 bots; delete some or ask an administrator "
        "to raise the limit.",
        "code": "quota_exceeded",
        "quota": "bots",
        "used": 2,
        "limit": 2,
        "resets_at": None,
    }
    assert Bot.objects.for_org(org).count() == 2
    org.quota_bots = 0  # unlimited
    org.save()
    assert client.post(f"/api/orgs/{org.pk}/bots/", {"name": "Third"}, format="json").status_code == 201


# --- Usage ----------------------------------------------------------------------------------------


def _seed_usage(org, bot, *, questions: int, tokens: int, at: datetime) -> None:
    """Stored messages of day `at`, and that day's rollup rebuilt from them (what a turn keeps current)."""
    conversation = Conversation.objects.create(org=org, bot=bot, channel=Channel.PUBLIC)
    for _ in range(questions):
        Message.objects.create(org=org, bot=bot, conversation=conversation, role=Role.USER, content="q")
    Message.objects.create(
        org=org, bot=bot, conversation=conversation, role=Role.ASSISTANT, content="a", prompt_tokens=tokens
    )
    Message.objects.for_org(org).filter(conversation=conversation).update(created_at=at)
    analytics_rebuild(org=org, day=at.date())


@pytest.mark.django_db
def test_usage_endpoint_counts_this_month_for_any_member(
    org, bot, viewer, other_org, client_for, monkeypatch
):
    monkeypatch.setattr(quotas, "utc_now", lambda: MID_MARCH)
    org.quota_documents = 10
    org.quota_tokens_per_month = 0
    org.save()
    Document.objects.create(org=org, bot=bot, title="a", size_bytes=1000, chunk_count=4, sha256="a")
    Document.objects.create(org=org, bot=bot, title="b", size_bytes=500, chunk_count=3, sha256="b")
    _seed_usage(org, bot, questions=3, tokens=120, at=datetime(2026, 3, 2, tzinfo=UTC))
    _seed_usage(org, bot, questions=5, tokens=999, at=datetime(2026, 2, 27, tzinfo=UTC))  # last month
    other_bot = Bot.objects.for_org(other_org).get()
    _seed_usage(other_org, other_bot, questions=7, tokens=7, at=datetime(2026, 3, 3, tzinfo=UTC))

    response = client_for(viewer).get(f"/api/orgs/{org.pk}/usage/")
    assert response.status_code == 200, response.content
    body = response.json()
    resets = "2026-04-01T00:00:00Z"
    assert body == {
        "bots": {"used": 1, "limit": 50, "resets_at": None},
        "documents": {"used": 2, "limit": 10, "resets_at": None},
        "storage_bytes": {"used": 1500, "limit": 5 * 1024**3, "resets_at": None},
        "chunks": {"used": 7, "limit": 500_000, "resets_at": None},
        "messages_per_month": {"used": 3, "limit": 100_000, "resets_at": resets},
        "tokens_per_month": {"used": 120, "limit": None, "resets_at": resets},
    }


@pytest.mark.django_db
def test_usage_of_another_org_is_404_and_anonymous_is_refused(org, outsider, other_org, viewer, client_for):
    assert client_for(outsider).get(f"/api/orgs/{org.pk}/usage/").status_code == 404
    assert client_for(viewer).get(f"/api/orgs/{other_org.pk}/usage/").status_code == 404
    assert client_for(None).get(f"/api/orgs/{org.pk}/usage/").status_code in (401, 403)


@pytest.mark.django_db
def test_usage_is_read_only(org, owner, client_for):
    assert client_for(owner).post(f"/api/orgs/{org.pk}/usage/", {}, format="json").status_code == 405


# --- Admin ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_org_page_shows_usage_and_saves_an_override(org, bot, client):
    Document.objects.create(org=org, bot=bot, title="a", size_bytes=2048, chunk_count=5, sha256="a")
    staff = make_user("ops@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse("admin:tenants_organization_change", args=[org.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Usage now" in html and 'class="quota-usage"' in html
    assert "<td>documents</td><td>1</td><td>1,000</td>" in html
    assert "<td>storage_bytes</td><td>2,048</td>" in html
    assert "quota_messages_per_month" in html  # the override fields are on the form

    form = {
        "name": org.name,
        "quota_documents": "25",
        "quota_bots": "0",
        **{f"{prefix}-{key}": "0" for prefix in ("memberships", "invitations") for key in ("INITIAL_FORMS",)},
        **{f"{prefix}-TOTAL_FORMS": "0" for prefix in ("memberships", "invitations")},
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    org.refresh_from_db()
    assert (org.quota_documents, org.quota_bots, org.quota_chunks) == (25, 0, None)
    assert quotas.quota_limit(org=org, name="documents") == 25
    assert quotas.quota_limit(org=org, name="bots") is None
    assert quotas.quota_limit(org=org, name="chunks") == 500_000
