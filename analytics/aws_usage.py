"""Reading one month of activity per organisation for `manage.py aws_usage_report`.

Chat figures come from the analytics rollup (`DailyMetrics`: turns, latency sum and histogram,
vector bytes read), documents and chunks from their own tables. Active users (Cognito's MAUs) are
members who signed in (`last_login`: sessions, the hosted UI), chatted in the builder or uploaded in
the month: API calls with a Cognito token leave no other trace. Each organisation is read through
its scoped managers, one at a time.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, Sum
from django.db.models.functions import Length

from analytics.aws_costs import OrgActivity
from analytics.models import DailyMetrics
from analytics.rollup import LATENCY_BUCKET_COUNT
from chat.models import Conversation
from documents.models import Chunk, Document, DocumentStatus
from tenants.models import Organization

_BUCKETS = [f"latency_b{i:02d}" for i in range(LATENCY_BUCKET_COUNT)]


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant of the next month) in UTC for "YYYY-MM"; ValueError if malformed."""
    try:
        year, number = (int(part) for part in month.split("-"))
        start = dt.datetime(year, number, 1, tzinfo=dt.UTC)
    except ValueError as exc:
        raise ValueError(f"{month!r} is not a month; write it as YYYY-MM, e.g. 2026-03.") from exc
    days = calendar.monthrange(year, number)[1]
    return start, start + dt.timedelta(days=days)


def org_activity(org: Organization, start: dt.datetime, end: dt.datetime) -> OrgActivity:
    """What `org` did in [start, end), and what it kept at the end of that time (or now)."""
    rollup = (
        DailyMetrics.objects.for_org(org)
        .filter(day__gte=start.date(), day__lt=end.date())
        .aggregate(
            turns=Sum("assistant_messages"),
            latency=Sum("latency_ms_sum"),
            vector_bytes=Sum("vector_bytes_read"),
            **{name: Sum(name) for name in _BUCKETS},
        )
    )
    documents = Document.objects.for_org(org)
    uploaded = documents.filter(created_at__gte=start, created_at__lt=end).count()
    processed = list(
        documents.filter(
            processed_at__gte=start,
            processed_at__lt=end,
            processing_started_at__isnull=False,
            status__in=[DocumentStatus.READY, DocumentStatus.FAILED],
        ).values_list("processing_started_at", "processed_at", "chunk_count", "status", "pk")
    )
    ready_in_month = [pk for _, _, _, status, pk in processed if status == DocumentStatus.READY]
    live = Chunk.objects.for_org(org).filter(document__active_generation=F("generation"))
    written = live.filter(document_id__in=ready_in_month).aggregate(n=Count("id"), text=Sum(Length("text")))
    kept = live.filter(document__created_at__lt=end).aggregate(n=Count("id"), text=Sum(Length("text")))
    storage = documents.filter(created_at__lt=end).aggregate(total=Sum("size_bytes"))["total"]
    return OrgActivity(
        org_id=str(org.pk),
        org_name=org.name,
        chat_turns=rollup["turns"] or 0,
        chat_latency_ms=rollup["latency"] or 0,
        chat_latency_histogram=[rollup[name] or 0 for name in _BUCKETS],
        vector_bytes_read=rollup["vector_bytes"] or 0,
        documents_uploaded=uploaded,
        documents_processed=len(processed),
        processing_seconds=[
            max(0.0, (finished - began).total_seconds()) for began, finished, *_ in processed
        ],
        chunks_written=written["n"] or 0,
        chunk_text_bytes_written=written["text"] or 0,
        chunks_kept=kept["n"] or 0,
        chunk_text_bytes_kept=kept["text"] or 0,
        storage_bytes=storage or 0,
    )


def _active_user_ids(org: Organization, start: dt.datetime, end: dt.datetime) -> set:
    signed_in = get_user_model().objects.filter(
        memberships__org=org, last_login__gte=start, last_login__lt=end
    )
    chatted = Conversation.objects.for_org(org).filter(
        user__isnull=False, last_activity_at__gte=start, started_at__lt=end
    )
    uploaded = Document.objects.for_org(org).filter(
        created_by__isnull=False, created_at__gte=start, created_at__lt=end
    )
    return (
        set(signed_in.values_list("pk", flat=True))
        | set(chatted.values_list("user_id", flat=True))
        | set(uploaded.values_list("created_by_id", flat=True))
    )


def all_activity(start: dt.datetime, end: dt.datetime) -> tuple[list[OrgActivity], int]:
    """Every organisation's activity, and the number of distinct active users across them (a
    member of two organisations is one MAU), operators signing in to the admin included."""
    activities, everyone = [], set()
    for org in Organization.objects.order_by("name", "pk"):
        activity = org_activity(org, start, end)
        users = _active_user_ids(org, start, end)
        activity.active_users = len(users)
        activities.append(activity)
        everyone |= users
    staff = get_user_model().objects.filter(is_staff=True, last_login__gte=start, last_login__lt=end)
    return activities, len(everyone | set(staff.values_list("pk", flat=True)))


def database_bytes() -> int:
    """The database's size: PostgreSQL's on disk, SQLite's pages."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            return int(pages * cursor.fetchone()[0])
    return 0
