"""Scenarios run in a fresh Python process, configured like a real deployment (base settings, the
database cache, the local worker), against a database prepared by `manage.py migrate` alone.

    python -m tests.local_scenarios <scenario> [args...]

The environment (DATABASE_URL, MEDIA_ROOT, EMBEDDER=fake, ...) comes from tests/test_local_platform.py.
Each scenario prints one JSON line for the test to check.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.services import user_create  # noqa: E402
from bots.services import bot_create  # noqa: E402
from chat.models import RateCounter  # noqa: E402
from documents.models import Document  # noqa: E402
from documents.services import document_process, document_upload  # noqa: E402
from integrations.embeddings.fake import FakeEmbedder  # noqa: E402
from tenants.services import org_create  # noqa: E402

FACT = "# Opening hours\n\nThe Lisbon depot opens at 07:30 on weekdays and closes at 19:00.\n"


def _tenant(label: str):
    user = user_create(email=f"{label}@example.com", password=None, name=label)
    org = org_create(user=user, name=f"Org {label}")
    return user, org


def _paragraphs(topic: str, count: int) -> bytes:
    lines = [f"# {topic}\n"]
    for i in range(count):
        lines.append(
            f"Paragraph {i} about {topic}: the warehouse in district {i} ships parcels every morning, "
            f"keeps {i % 17} spare pallets and answers questions about order {i * 7} within a day.\n"
        )
    return "\n".join(lines).encode()


def chat() -> dict:
    """Upload, search and chat (builder and public channel) on a migrate-only database."""
    user = user_create(email="owner@example.com", password="a long local password", name="Owner")
    org = org_create(user=user, name="Org owner")
    bot = bot_create(org=org, user=user, name="Depot bot")
    document, _ = document_upload(bot=bot, user=user, data=FACT.encode(), filename="hours.md")
    document.refresh_from_db()
    # Signed in the way a script does it locally: HTTP Basic (on unless Cognito is configured).
    credentials = base64.b64encode(b"owner@example.com:a long local password").decode()
    client = Client(HTTP_AUTHORIZATION=f"Basic {credentials}")
    base = f"/api/orgs/{org.pk}/bots/{bot.pk}/"
    search = client.post(
        base + "search/", {"query": "When does the depot open?"}, content_type="application/json"
    )
    answer = client.post(
        base + "chat/", {"message": "When does the depot open?"}, content_type="application/json"
    )
    public = Client().post(
        f"/api/public/bots/{bot.public_id}/chat/",
        {"message": "When does the depot open?", "visitor_id": "visitor-0000000001"},
        content_type="application/json",
    )
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    return {
        "document_status": document.status,
        "search_status": search.status_code,
        "search_texts": [r["text"] for r in search.json().get("results", [])]
        if search.status_code == 200
        else [],
        "chat_status": answer.status_code,
        "chat_answer": answer.json().get("answer", "")
        if answer.status_code == 200
        else answer.content.decode(),
        "public_status": public.status_code,
        "public_answer": public.json().get("answer", "")
        if public.status_code == 200
        else public.content.decode(),
        "cache_table": "botwright_cache" in tables,
        "rate_counters": sorted(
            (key.split(":")[0], count) for key, count in RateCounter.objects.values_list("key", "count")
        ),
    }


def seed_stuck(count: str = "3") -> dict:
    """Documents a crashed worker left in `processing` long ago."""
    user, org = _tenant("stuck")
    bot = bot_create(org=org, user=user, name="Stuck bot")
    ids = []
    for i in range(int(count)):
        data = _paragraphs(f"stuck topic {i}", 30)
        document, _ = document_upload(bot=bot, user=user, data=data, filename=f"stuck-{i}.md", enqueue=False)
        Document.objects.for_org(org).filter(pk=document.pk).update(
            status="processing", attempts=1, processing_started_at=timezone.now() - timedelta(hours=2)
        )
        ids.append(str(document.pk))
    return {"ids": ids}


def report() -> dict:
    """Every document's status and error."""
    rows = Document.all_orgs.order_by("created_at").values_list("title", "status", "error")
    return {"documents": [{"title": t, "status": s, "error": e} for t, s, e in rows]}


class SlowEmbedder(FakeEmbedder):
    """The fake embedder at a model's pace: a fixed cost per passage, so big files take long."""

    def __init__(self, seconds_per_text: float) -> None:
        super().__init__()
        self.seconds_per_text = seconds_per_text

    def embed(self, texts):
        time.sleep(self.seconds_per_text * len(texts))
        return super().embed(texts)


def fairness(seconds_per_text: str = "0.01") -> dict:
    """Two tenants each upload a large file, then small ones; the local worker processes them.

    Returns when every document is ready: each one's finish time (s after the first upload).
    """
    from documents import tasks

    embedder = SlowEmbedder(float(seconds_per_text))

    def process(document_id: str, org_id: str):
        return document_process(
            document_id=document_id, org_id=org_id, embedder=embedder, require_pending=True
        )

    worker = tasks.start_local_worker(process=process, poll_interval_s=0.5)
    assert worker is not None, "DOCUMENT_PROCESSING must be thread for this scenario"
    user_a, org_a = _tenant("a")
    user_b, org_b = _tenant("b")
    bot_a1 = bot_create(org=org_a, user=user_a, name="A one")
    bot_a2 = bot_create(org=org_a, user=user_a, name="A two")
    bot_b = bot_create(org=org_b, user=user_b, name="B")
    plan = [
        (bot_a1, user_a, "large A", _paragraphs("large A", 1500)),
        (bot_b, user_b, "large B", _paragraphs("large B", 1500)),
        (bot_a1, user_a, "small A1", _paragraphs("small A1", 3)),
        (bot_b, user_b, "small B1", _paragraphs("small B1", 3)),
        (bot_a2, user_a, "small A2", _paragraphs("small A2", 3)),
        (bot_b, user_b, "small B2", _paragraphs("small B2", 3)),
        (bot_a1, user_a, "small A3", _paragraphs("small A3", 3)),
    ]
    started = timezone.now()
    for bot, user, title, data in plan:
        document_upload(bot=bot, user=user, data=data, filename=f"{title}.md", title=title)
    deadline = time.monotonic() + 300
    while Document.all_orgs.exclude(status__in=["ready", "failed"]).exists():
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    tasks.stop_local_worker()
    rows = Document.all_orgs.values_list("title", "status", "size_bytes", "chunk_count", "processed_at")
    return {
        "documents": {
            title: {
                "status": status,
                "bytes": size,
                "chunks": chunks,
                "finished_s": round((done - started).total_seconds(), 2) if done else None,
            }
            for title, status, size, chunks, done in rows
        }
    }


def restart() -> dict:
    """A server starts on a database where a stopped one left work: documents stuck in `processing`
    and documents still `pending`. Later, one more document gets stuck while the server runs."""
    seed_stuck("2")
    user, org = _tenant("left")
    bot = bot_create(org=org, user=user, name="Left bot")
    for i in range(2):
        document_upload(
            bot=bot, user=user, data=_paragraphs(f"left {i}", 10), filename=f"left-{i}.md", enqueue=False
        )

    import config.wsgi  # noqa: F401  (what runserver and gunicorn load: it starts the local worker)
    from documents import tasks

    assert tasks._worker is not None, "the server did not start its worker"
    _wait_until_settled(60)
    at_start = report()["documents"]

    late, _ = document_upload(
        bot=bot, user=user, data=_paragraphs("late", 10), filename="late.md", enqueue=False
    )
    Document.objects.for_org(org).filter(pk=late.pk).update(
        status="processing", attempts=1, processing_started_at=timezone.now() - timedelta(hours=2)
    )
    _wait_until_settled(60)
    tasks.stop_local_worker()
    return {"at_start": at_start, "later": report()["documents"]}


def _wait_until_settled(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Document.all_orgs.exclude(status__in=["ready", "failed"]).exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def worker_and_command(count: str = "8") -> dict:
    """The local worker and a `process_documents` run write to one SQLite file at the same time."""
    import subprocess

    from documents import tasks

    embedder = SlowEmbedder(0.002)

    def process(document_id: str, org_id: str):
        return document_process(
            document_id=document_id, org_id=org_id, embedder=embedder, require_pending=True
        )

    user, org = _tenant("locks")
    bot = bot_create(org=org, user=user, name="Locks bot")
    for i in range(int(count)):
        document_upload(
            bot=bot, user=user, data=_paragraphs(f"lock topic {i}", 60), filename=f"l{i}.md", enqueue=False
        )
    command = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", "process_documents", "--pending"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Start the worker once the command is busy, so that both write at the same time.
    deadline = time.monotonic() + 120
    while not Document.all_orgs.exclude(status="pending").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    tasks.start_local_worker(process=process, poll_interval_s=0.2)
    out, err = command.communicate(timeout=300)
    deadline = time.monotonic() + 300
    while Document.all_orgs.exclude(status__in=["ready", "failed"]).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    tasks.stop_local_worker()
    return {**report(), "command_rc": command.returncode, "command_out": out, "command_err": err[-2000:]}


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    print(json.dumps(globals()[name](*args)))
