"""The README's migration example end to end: the demo Supabase project and its Qdrant collection
(importers.demo, also behind scripts/demo_supabase_source.py) imported by both commands."""

from __future__ import annotations

import base64
import json
from io import StringIO

import pytest
from django.core.management import call_command
from qdrant_client import QdrantClient

from bots.models import Bot
from documents.models import Document
from importers import demo
from integrations.embeddings import get_embedder

pytestmark = pytest.mark.django_db


def test_demo_project_migrates_users_bots_documents_and_vectors(
    source_db, storage_dir, tmp_path, client, django_capture_on_commit_callbacks
):
    project = demo.create_demo_project(source_db, storage_dir=storage_dir)
    qdrant = QdrantClient(path=str(tmp_path / "qdrant"))
    points = demo.create_demo_collection(
        qdrant, collection="kb_chunks", project=project, embedder=get_embedder()
    )
    qdrant.close()

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "import_supabase",
            "--dsn",
            source_db.dsn_for_import,
            "--storage-dir",
            str(storage_dir),
            "--defer-processing",
            "--report",
            str(tmp_path / "supabase.json"),
            stdout=out,
            stderr=StringIO(),
        )
    supabase = json.loads((tmp_path / "supabase.json").read_text())
    assert supabase["failed"] == 0
    assert supabase["entities"]["users"]["created"] == 2 and supabase["entities"]["users"]["skipped"] == 1
    assert Document.all_orgs.filter(status="pending").count() == 3  # deferred: import_qdrant brings vectors

    call_command(
        "import_qdrant",
        "--path",
        str(tmp_path / "qdrant"),
        "--collection",
        "kb_chunks",
        "--report",
        str(tmp_path / "qdrant.json"),
        stdout=out,
        stderr=StringIO(),
    )
    report = json.loads((tmp_path / "qdrant.json").read_text())
    assert report["failed"] == 0 and report["entities"]["points"]["created"] == points
    assert all(c["passed"] for c in report["checks"])
    assert Document.all_orgs.filter(status="ready").count() == 4  # three files + one only in Qdrant

    ada = demo.DEMO_USERS[0]
    token = base64.b64encode(f"{ada.email}:{ada.password}".encode()).decode()
    auth = {"HTTP_AUTHORIZATION": f"Basic {token}"}
    assert client.get("/api/auth/me/", **auth).status_code == 200
    bot = Bot.all_orgs.get(name="Acme Support")
    body = client.post(
        f"/api/orgs/{bot.org_id}/bots/{bot.pk}/chat/",
        {"message": "What does the RoboVac warranty cover?"},  # the fake embedder: words must be known
        content_type="application/json",
        **auth,
    ).json()
    assert "two-year warranty" in body["answer"] and body["sources"]
