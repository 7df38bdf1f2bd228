"""The knowledge base's quotas: documents and storage answer 402 before anything is kept; a document
whose passages do not fit the chunk quota fails with the reason and leaves nothing indexed; two
uploads racing for the last slot do not both get it (PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from bots.models import Bot
from bots.services import bot_create
from documents.models import Chunk, Document
from documents.services import document_process, document_reindex, document_upload
from integrations.models import ChunkVector
from tenants.errors import QuotaExceeded
from tests.factories import make_bot, stored_files

from .conftest import doc_url


def _text(n: int, lines: int = 12) -> bytes:
    body = [f"# Depot {n}"] + [
        f"Line {i}: depot {n} ships order {i} from aisle {i % 7}." for i in range(lines)
    ]
    return "\n\n".join(body).encode()


@pytest.mark.django_db
def test_document_quota_at_limit_minus_one_passes_at_limit_answers_402_and_keeps_nothing(
    org, bot, editor, upload
):
    org.quota_documents = 2
    org.save()
    assert upload(editor, bot, _text(1), "one.md").status_code == 201
    assert upload(editor, bot, _text(2), "two.md").status_code == 201
    files_before = stored_files(str(org.pk))

    response = upload(editor, bot, _text(3), "three.md")
    assert response.status_code == 402
    assert response.json() == {
        "detail": "This organisation has used 2 of its 2 documents; delete some or ask an "
        "administrator to raise the limit.",
        "code": "quota_exceeded",
        "quota": "documents",
        "used": 2,
        "limit": 2,
        "resets_at": None,
    }
    assert Document.objects.for_org(org).count() == 2
    assert stored_files(str(org.pk)) == files_before
    # The same bytes again are the existing document, not a new one: no quota needed.
    assert upload(editor, bot, _text(1), "one.md").status_code == 200


@pytest.mark.django_db
def test_storage_quota_counts_bytes_and_refuses_the_file_that_does_not_fit(org, bot, editor, upload):
    first, second = _text(1), _text(2)
    org.quota_storage_bytes = len(first) + len(second) - 1
    org.save()
    assert upload(editor, bot, first, "one.md").status_code == 201
    response = upload(editor, bot, second, "two.md")
    assert response.status_code == 402
    body = response.json()
    assert (body["code"], body["quota"], body["used"], body["limit"]) == (
        "quota_exceeded",
        "storage_bytes",
        len(first),
        len(first) + len(second) - 1,
    )
    assert body["detail"].endswith(
        f"and this file needs {len(second)} bytes more; delete some documents or ask an "
        "administrator to raise the limit."
    )
    assert Document.objects.for_org(org).count() == 1
    org.quota_storage_bytes = len(first) + len(second)  # exactly enough
    org.save()
    assert upload(editor, bot, second, "two.md").status_code == 201


def _chunks_of(data: bytes, other_org) -> int:
    """How many passages `data` makes, measured in another org (its own quota, its own rows)."""
    other_bot = Bot.objects.for_org(other_org).get()
    document, _ = document_upload(bot=other_bot, user=None, data=data, filename="m.md", enqueue=False)
    return document_process(document_id=str(document.pk), org_id=str(other_org.pk)).chunk_count


@pytest.mark.django_db
def test_chunk_quota_fails_the_document_and_leaves_nothing_indexed(
    org, bot, editor, other_org, django_capture_on_commit_callbacks
):
    first, second = _text(1, lines=30), _text(2, lines=60)
    n_first, n_second = _chunks_of(first, other_org), _chunks_of(second, other_org)
    assert n_first > 1 and n_second > 1
    org.quota_chunks = n_first + n_second - 1
    org.save()
    a, _ = document_upload(bot=bot, user=editor, data=first, filename="a.md", enqueue=False)
    assert document_process(document_id=str(a.pk), org_id=str(org.pk)).status == "ready"

    b, _ = document_upload(bot=bot, user=editor, data=second, filename="b.md", enqueue=False)
    ended = document_process(document_id=str(b.pk), org_id=str(org.pk))
    assert ended.status == "failed"
    assert ended.error == (
        f"This organisation has used {n_first:,} of its {n_first + n_second - 1:,} passages (chunks), "
        f"and this document needs {n_second:,} more; delete some documents or "
        "ask an administrator to raise the limit."
    )
    assert not Chunk.objects.for_org(org).filter(document=b).exists()
    assert not ChunkVector.objects.filter(org_id=str(org.pk), document_id=str(b.pk)).exists()

    org.quota_chunks = n_first + n_second  # at the limit exactly: fits
    org.save()
    with django_capture_on_commit_callbacks(execute=True):
        document_reindex(document=b, user=editor)
    b.refresh_from_db()
    assert b.status == "ready" and b.chunk_count == n_second
    # A re-index replaces the document's own passages, so at the limit it still fits.
    with django_capture_on_commit_callbacks(execute=True):
        document_reindex(document=b, user=editor)
    b.refresh_from_db()
    assert b.status == "ready", b.error


@pytest.mark.django_db
def test_chunk_quota_is_checked_again_when_switching_live(org, bot, editor):
    """A document that fit when it was chunked but not once another finished first (the room went
    while it embedded): it fails at the switch, and its written generation is removed."""
    data = _text(5, lines=40)
    org.quota_chunks = 1000
    org.save()
    rival = Document.objects.create(org=org, bot=bot, title="rival", sha256="r")
    document, _ = document_upload(bot=bot, user=editor, data=data, filename="late.md", enqueue=False)

    def rival_finishes(done, total):
        Document.objects.for_org(org).filter(pk=rival.pk).update(chunk_count=1000 - done + 1)

    ended = document_process(document_id=str(document.pk), org_id=str(org.pk), on_progress=rival_finishes)
    assert ended.status == "failed"
    assert "passages (chunks)" in ended.error and ended.active_generation is None
    assert not Chunk.objects.for_org(org).filter(document=document).exists()
    assert not ChunkVector.objects.filter(org_id=str(org.pk), document_id=str(document.pk)).exists()


@pytest.mark.django_db
def test_document_list_still_reads_when_the_org_is_full(org, bot, editor, client_for, upload):
    org.quota_documents = 1
    org.save()
    assert upload(editor, bot, _text(1), "one.md").status_code == 201
    assert client_for(editor).get(doc_url(bot)).status_code == 200


# --- Races (PostgreSQL) ---------------------------------------------------------------------------


def _race(fn, n: int) -> tuple[int, list[str]]:
    won, errors = [], []

    def run(i):
        try:
            fn(i)
            won.append(i)
        except QuotaExceeded:
            pass
        except Exception as exc:  # collected: an exception in a thread must fail the test
            errors.append(repr(exc))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(run, range(n)))
    return len(won), errors


@pytest.mark.django_db(transaction=True)
def test_uploads_racing_for_the_last_slots_do_not_pass_the_document_quota(org, editor):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite takes one writer at a time; CI runs this on PostgreSQL")
    bot = make_bot(org, "Racer")
    org.quota_documents = 3
    org.save()
    document_upload(bot=bot, user=editor, data=_text(0), filename="zero.md", enqueue=False)

    won, errors = _race(
        lambda i: document_upload(bot=bot, user=editor, data=_text(i + 1), filename=f"{i}.md", enqueue=False),
        8,
    )
    assert errors == []
    assert won == 2
    documents = list(Document.objects.for_org(org))
    assert len(documents) == 3
    # The refused uploads' bytes are gone too: storage holds exactly the kept documents' files.
    assert stored_files(str(org.pk)) == {d.storage_key for d in documents}


@pytest.mark.django_db(transaction=True)
def test_bot_creates_racing_for_the_last_slot_do_not_pass_the_bot_quota(org, editor):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite takes one writer at a time; CI runs this on PostgreSQL")
    org.quota_bots = 2
    org.save()
    make_bot(org, "Existing")
    won, errors = _race(lambda i: bot_create(org=org, user=editor, name=f"Bot {i}"), 6)
    assert errors == []
    assert won == 1
    assert Bot.objects.for_org(org).count() == 2
