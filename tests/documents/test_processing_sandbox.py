"""Uploads of hostile text through the API (issue 8, finding 1): the request only sniffs, and
chunking as well as extraction runs in the sandboxed child, under its deadline."""

from __future__ import annotations

import time

import pytest

from documents import chunking
from documents.models import Document

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"# a" + b" " * 30_000 + b"b", "notes.txt"),  # froze the upload request (Markdown sniffing)
        (b"z " + b"." * 30_000 + b"w", "notes.txt"),  # froze processing (sentence ends, chunking)
    ],
    ids=["atx-heading-blank-run", "dot-run"],
)
def test_the_reported_uploads_are_indexed_promptly(bot, editor, upload, data, filename):
    started = time.monotonic()
    response = upload(editor, bot, data, filename)
    # Each took 30 s and more of CPU before the fix; the bound is loose for a busy machine.
    assert time.monotonic() - started < 15
    assert response.status_code == 201, response.content
    document = Document.objects.for_org(bot.org).get(pk=response.json()["id"])
    assert document.status == "ready", document.error
    assert document.chunk_count >= 1


def test_chunking_runs_under_the_extraction_deadline(bot, editor, upload, settings, monkeypatch):
    # The child is forked, so it inherits the patch: chunking that never ends is cut off by the
    # deadline instead of pinning the worker, and the document fails with the reason.
    monkeypatch.setattr(chunking, "chunk_document", lambda *args, **kwargs: time.sleep(60))
    settings.DOCUMENT_EXTRACT_TIMEOUT_S = 1
    started = time.monotonic()
    response = upload(editor, bot, b"Plain words that chunk in no time at all.", "notes.txt")
    assert time.monotonic() - started < 30
    document = Document.objects.for_org(bot.org).get(pk=response.json()["id"])
    assert document.status == "failed"
    assert document.error.startswith("Extraction took longer than 1 s")
