from __future__ import annotations

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from moto import mock_aws

from integrations.vectors import factory
from integrations.vectors.dynamodb import create_table

TABLE = "botwright-test-vectors"


@pytest.fixture
def upload(client_for, django_capture_on_commit_callbacks):
    """POST a file to a bot's documents and run the processing that commits would trigger."""

    def _upload(user, bot, data: bytes, filename: str, title: str | None = None):
        body = {"file": SimpleUploadedFile(filename, data)}
        if title is not None:
            body["title"] = title
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(user).post(
                f"/api/orgs/{bot.org_id}/bots/{bot.pk}/documents/", body, format="multipart"
            )

    return _upload


def doc_url(bot, document_id=None, suffix=""):
    base = f"/api/orgs/{bot.org_id}/bots/{bot.pk}/documents/"
    return base + (f"{document_id}/" if document_id else "") + suffix


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


@pytest.fixture
def dynamodb_store(aws, settings):
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_table(client, TABLE)
    settings.VECTOR_STORE = "dynamodb"
    settings.DYNAMODB_VECTORS_TABLE = TABLE
    settings.AWS_REGION = "us-east-1"
    factory.get_vector_store.cache_clear()
    yield factory.get_vector_store()
    factory.get_vector_store.cache_clear()
