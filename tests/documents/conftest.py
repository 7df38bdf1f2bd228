from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


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
