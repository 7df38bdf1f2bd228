"""The same pipeline on AWS parts: S3 (django-storages) and DynamoDB vectors, through boto3 against moto."""

from __future__ import annotations

import base64
import json

import pytest

from documents.models import Document
from documents.retrieval import retrieve
from integrations.vectors.dynamodb import DynamoDBVectorStore
from tests.conftest import S3_TEST_BUCKET

from .conftest import doc_url

pytestmark = pytest.mark.django_db

TEXT = b"# Warranty\n\nEvery kettle carries a two year warranty covering the heating element.\n"


def test_upload_to_s3_keys_start_with_the_org_and_delete_removes_the_object(
    bot, editor, upload, s3_storage, client_for, django_capture_on_commit_callbacks
):
    response = upload(editor, bot, TEXT, "warranty.md")
    assert response.status_code == 201, response.content
    document = Document.objects.for_org(bot.org).get(pk=response.json()["id"])
    assert document.status == "ready", document.error
    keys = [o["Key"] for o in s3_storage.list_objects_v2(Bucket=S3_TEST_BUCKET)["Contents"]]
    assert keys == [document.storage_key]
    assert keys[0].startswith(f"{bot.org_id}/{bot.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(editor).delete(doc_url(bot, document.pk)).status_code == 204
    assert s3_storage.list_objects_v2(Bucket=S3_TEST_BUCKET).get("KeyCount") == 0


def test_presigned_direct_upload_then_complete(
    bot, editor, s3_storage, client_for, django_capture_on_commit_callbacks
):
    client = client_for(editor)
    response = client.post(
        doc_url(bot, suffix="uploads/"),
        {"filename": "manual.md", "size": len(TEXT), "content_type": "text/markdown"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    document_id = body["document"]["id"]
    assert body["document"]["status"] == "pending"
    upload = body["upload"]
    assert upload["url"] and upload["fields"]["key"].startswith(f"{bot.org_id}/{bot.pk}/{document_id}/")
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", 1, len(TEXT)] in policy["conditions"]

    # Completing before the browser uploaded is a clear 400.
    early = client.post(doc_url(bot, document_id, "complete/"))
    assert early.status_code == 400 and "not arrived" in str(early.json())

    # What the browser does:
    s3_storage.put_object(Bucket=S3_TEST_BUCKET, Key=upload["fields"]["key"], Body=TEXT)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(doc_url(bot, document_id, "complete/"))
    assert done.status_code == 202, done.content
    document = Document.objects.for_org(bot.org).get(pk=document_id)
    assert document.status == "ready" and document.kind == "markdown" and document.sha256
    assert client.post(doc_url(bot, document_id, "complete/")).status_code == 400  # not twice


def test_direct_upload_size_limit_is_413(bot, editor, s3_storage, client_for, settings):
    settings.DIRECT_UPLOAD_MAX_BYTES = 1000
    response = client_for(editor).post(
        doc_url(bot, suffix="uploads/"), {"filename": "x.pdf", "size": 5000}, format="json"
    )
    assert response.status_code == 413
    assert Document.objects.for_org(bot.org).count() == 0


def test_dynamodb_vectors_end_to_end_with_reindex_and_delete(
    bot, editor, upload, dynamodb_store, client_for, django_capture_on_commit_callbacks
):
    assert isinstance(dynamodb_store, DynamoDBVectorStore)
    document_id = upload(editor, bot, TEXT, "warranty.md").json()["id"]
    document = Document.objects.for_org(bot.org).get(pk=document_id)
    assert document.status == "ready", document.error
    assert dynamodb_store.count(org_id=str(bot.org_id), bot_id=str(bot.pk)) == document.chunk_count
    hits = retrieve(bot=bot, query="kettle two year warranty heating element")
    assert (
        hits and "two year warranty" in hits[0].text and hits[0].title == "Warranty"
    )  # the lone H1 is the title

    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(editor).post(doc_url(bot, document_id, "reindex/")).status_code == 202
    document.refresh_from_db()
    assert document.active_generation == 2 and document.status == "ready"
    # The old generation is gone from DynamoDB: only the live one is counted.
    assert dynamodb_store.count(org_id=str(bot.org_id), bot_id=str(bot.pk)) == document.chunk_count

    with django_capture_on_commit_callbacks(execute=True):
        client_for(editor).delete(doc_url(bot, document_id))
    assert dynamodb_store.count(org_id=str(bot.org_id), bot_id=str(bot.pk)) == 0
    assert retrieve(bot=bot, query="warranty") == []


def test_direct_upload_obeys_the_document_and_storage_quotas(bot, editor, s3_storage, client_for):
    """Starting holds a slot for the declared size (402 when none is left); completing checks the real
    size again and discards a file that does not fit, object included."""
    org = bot.org
    org.quota_storage_bytes = len(TEXT) + 10
    org.quota_documents = 1
    org.save()
    client = client_for(editor)
    start = {"filename": "manual.md", "size": len(TEXT), "content_type": "text/markdown"}
    body = client.post(doc_url(bot, suffix="uploads/"), start, format="json").json()
    second = client.post(doc_url(bot, suffix="uploads/"), start, format="json")
    assert second.status_code == 402 and second.json()["quota"] == "documents"

    # A larger file than declared: S3 itself refuses it (the POST's content-length-range), moto does
    # not, which lets this show the second line of defence: the real size is what counts.
    bigger = TEXT * 3
    s3_storage.put_object(Bucket=S3_TEST_BUCKET, Key=body["upload"]["fields"]["key"], Body=bigger)
    done = client.post(doc_url(bot, body["document"]["id"], "complete/"))
    assert done.status_code == 402
    assert (done.json()["quota"], done.json()["used"], done.json()["limit"]) == (
        "storage_bytes",
        0,
        len(TEXT) + 10,
    )
    assert Document.objects.for_org(org).count() == 0
    assert s3_storage.list_objects_v2(Bucket=S3_TEST_BUCKET).get("KeyCount") == 0
