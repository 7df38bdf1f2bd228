"""Upload → extract → chunk → embed → vectors through the API, with the embedded defaults."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from documents.models import Chunk, Document
from documents.retrieval import retrieve
from documents.samples import build_pdf
from integrations.models import ChunkVector
from tenants.models import AuditEvent

from . import malformed
from .conftest import doc_url

pytestmark = pytest.mark.django_db

FILLER = [
    f"Clause {i} of this section describes routine paperwork, filing and record keeping." for i in range(14)
]
POLICY_PDF = build_pdf(
    [
        [
            "Returns policy",
            "Unused items can be returned within 30 days of delivery for a full refund.",
            *FILLER,
        ],
        ["Warranty", "Every kettle carries a two year warranty covering the heating element.", *FILLER],
    ],
    title="Policies",
)


def test_uploaded_pdf_becomes_ready_with_pages_chunks_and_vectors(bot, editor, upload, client_for):
    response = upload(editor, bot, POLICY_PDF, "policies.pdf")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "pdf" and body["title"] == "policies"  # from the file name, until extracted
    document = Document.objects.for_org(bot.org).get(pk=body["id"])
    assert document.title == "Policies"  # the PDF's own title, since the uploader gave none
    assert document.status == "ready", document.error
    assert document.page_count == 2
    assert document.chunk_count >= 2 and document.progress == 1.0
    assert document.embedding_model == "fake-hash-384"
    assert document.storage_key.startswith(f"{bot.org_id}/{bot.pk}/{document.pk}/")
    assert default_storage.exists(document.storage_key)
    assert (
        ChunkVector.objects.filter(org_id=str(bot.org_id), document_id=str(document.pk)).count()
        == document.chunk_count
    )

    detail = client_for(editor).get(doc_url(bot, document.pk)).json()
    assert detail["status"] == "ready" and detail["progress"] == 1.0 and detail["page_count"] == 2

    chunks = client_for(editor).get(doc_url(bot, document.pk, "chunks/")).json()
    assert chunks["count"] == document.chunk_count
    warranty = [c for c in chunks["results"] if "two year warranty" in c["text"]]
    assert warranty and warranty[0]["page_start"] <= 2 <= warranty[0]["page_end"]


def test_search_finds_the_passage_with_the_answer(bot, editor, upload):
    upload(editor, bot, POLICY_PDF, "policies.pdf")
    upload(editor, bot, b"# Opening hours\n\nThe office opens at 08:30 on weekdays.\n", "hours.md")
    # The fake embedder is lexical: ask with the passage's own words (the real model is tested elsewhere).
    passages = retrieve(bot=bot, query="kettle two year warranty heating element", top_k=3)
    assert "two year warranty" in passages[0].text
    assert passages[0].page_end == 2 and passages[0].title == "Policies"  # the PDF title
    only_hours = Document.objects.for_org(bot.org).get(kind="markdown")
    filtered = retrieve(bot=bot, query="warranty", top_k=3, document_ids=[only_hours.pk])
    assert {p.document_id for p in filtered} == {str(only_hours.pk)}


def test_same_bytes_twice_return_the_existing_document(bot, editor, upload):
    first = upload(editor, bot, POLICY_PDF, "a.pdf")
    second = upload(editor, bot, POLICY_PDF, "renamed.pdf")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert Document.objects.for_org(bot.org).count() == 1


def test_same_bytes_in_another_bot_is_a_new_document(org, bot, editor, upload):
    from tests.factories import make_bot

    other_bot = make_bot(org, "Second bot")
    assert upload(editor, bot, POLICY_PDF, "a.pdf").status_code == 201
    assert upload(editor, other_bot, POLICY_PDF, "a.pdf").status_code == 201


def test_upload_limits_and_types(bot, editor, upload, settings):
    png = upload(editor, bot, malformed.png_bytes(), "picture.pdf")
    assert png.status_code == 415
    assert "PNG" in png.json()["detail"]
    empty = upload(editor, bot, b"", "empty.txt")
    assert empty.status_code == 400
    assert "empty" in str(empty.json()).lower()
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 1000
    big = upload(editor, bot, b"a" * 2000, "big.txt")
    assert big.status_code == 413
    assert "limit" in big.json()["detail"]
    assert Document.objects.for_org(bot.org).count() == 0


def test_content_wins_over_the_extension(bot, editor, upload):
    response = upload(editor, bot, b"Plain notes about the returns desk.\n", "notes.pdf")
    assert response.status_code == 201
    assert response.json()["kind"] == "text"


MALFORMED = {
    "truncated.pdf": (malformed.truncated_pdf, "corrupt or truncated"),
    "encrypted.pdf": (malformed.encrypted_pdf, "password"),
    "scanned.pdf": (malformed.image_only_pdf, "scanned"),
    "bomb.docx": (malformed.zip_bomb_docx, "zip bomb"),
    "laughs.docx": (malformed.billion_laughs_docx, "DTD"),
    "xxe.docx": (malformed.xxe_docx, "DTD"),
    "truncated.docx": (malformed.truncated_docx, ""),
}


@pytest.mark.parametrize("filename", sorted(MALFORMED))
def test_malformed_file_ends_failed_with_a_reason_and_nothing_indexed(bot, editor, upload, filename):
    factory, reason = MALFORMED[filename]
    response = upload(editor, bot, factory(), filename)
    if response.status_code in (400, 415):  # refused at the door: nothing stored at all
        assert Document.objects.for_org(bot.org).count() == 0
        return
    assert response.status_code == 201, response.content
    document = Document.objects.for_org(bot.org).get(pk=response.json()["id"])
    assert document.status == "failed"
    assert document.error and reason.lower() in document.error.lower(), document.error
    assert document.active_generation is None
    assert Chunk.objects.for_org(bot.org).filter(document=document).count() == 0
    assert ChunkVector.objects.filter(org_id=str(bot.org_id), document_id=str(document.pk)).count() == 0


def test_too_many_pages_fails_with_the_limit_in_the_reason(bot, editor, upload, settings):
    settings.DOCUMENT_MAX_PAGES = 3
    response = upload(editor, bot, malformed.many_pages_pdf(5), "long.pdf")
    document = Document.objects.for_org(bot.org).get(pk=response.json()["id"])
    assert document.status == "failed"
    assert "3" in document.error and "pages" in document.error


def test_list_filters_by_status(bot, editor, upload, client_for):
    upload(editor, bot, POLICY_PDF, "ok.pdf")
    upload(editor, bot, malformed.truncated_pdf(), "bad.pdf")
    client = client_for(editor)
    assert client.get(doc_url(bot) + "?status=failed").json()["count"] == 1
    assert client.get(doc_url(bot) + "?status=ready").json()["count"] == 1
    assert client.get(doc_url(bot)).json()["count"] == 2
    assert client.get(doc_url(bot) + "?status=bogus").status_code == 400


def test_delete_removes_file_vectors_and_rows(
    bot, editor, upload, client_for, django_capture_on_commit_callbacks
):
    document_id = upload(editor, bot, POLICY_PDF, "a.pdf").json()["id"]
    document = Document.objects.for_org(bot.org).get(pk=document_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(editor).delete(doc_url(bot, document_id)).status_code == 204
    assert not default_storage.exists(document.storage_key)
    assert not Document.objects.for_org(bot.org).filter(pk=document_id).exists()
    assert Chunk.objects.for_org(bot.org).count() == 0
    assert ChunkVector.objects.filter(org_id=str(bot.org_id)).count() == 0
    assert retrieve(bot=bot, query="warranty") == []
    assert AuditEvent.objects.filter(action="document.deleted", target_id=document_id).exists()


def test_viewer_reads_but_cannot_write(bot, viewer, editor, upload, client_for):
    document_id = upload(editor, bot, POLICY_PDF, "a.pdf").json()["id"]
    assert upload(viewer, bot, b"hello there", "x.txt").status_code == 403
    client = client_for(viewer)
    assert client.get(doc_url(bot, document_id)).status_code == 200
    assert client.get(doc_url(bot, document_id, "chunks/")).status_code == 200
    assert client.delete(doc_url(bot, document_id)).status_code == 403
    assert client.post(doc_url(bot, document_id, "reindex/")).status_code == 403


def test_other_orgs_get_404_on_every_document_endpoint(bot, editor, upload, outsider, other_org, client_for):
    document_id = upload(editor, bot, POLICY_PDF, "a.pdf").json()["id"]
    client = client_for(other_org.owner)
    base = f"/api/orgs/{bot.org_id}/bots/{bot.pk}/"
    foreign_via_own_org = f"/api/orgs/{other_org.pk}/bots/{other_org.bot.pk}/documents/{document_id}/"
    probes = [
        ("get", base + "documents/"),
        ("post", base + "documents/"),
        ("post", base + "documents/uploads/"),
        ("get", base + f"documents/{document_id}/"),
        ("delete", base + f"documents/{document_id}/"),
        ("get", base + f"documents/{document_id}/chunks/"),
        ("post", base + f"documents/{document_id}/reindex/"),
        ("post", base + f"documents/{document_id}/complete/"),
        ("post", base + "reindex/"),
        ("get", foreign_via_own_org),
        ("get", foreign_via_own_org + "chunks/"),
        ("delete", foreign_via_own_org),
        ("post", foreign_via_own_org + "reindex/"),
    ]
    for method, url in probes:
        response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert document_id not in response.content.decode()
    assert Document.objects.for_org(bot.org).get(pk=document_id).status == "ready"


def test_direct_upload_with_local_storage_is_a_clear_400(bot, editor, client_for):
    response = client_for(editor).post(
        doc_url(bot) + "uploads/", {"filename": "big.pdf", "size": 10_000_000}, format="json"
    )
    assert response.status_code == 400
    assert "S3" in str(response.json())
    assert Document.objects.for_org(bot.org).count() == 0
