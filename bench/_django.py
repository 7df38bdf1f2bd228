"""Django for benchmarks: an isolated SQLite database and media folder, migrated, plus tenant helpers.

``setup(workdir)`` must run before anything imports Django models: it points settings at
``<workdir>/bench.sqlite3`` and ``<workdir>/media`` through the environment (the settings module reads
only the environment), processes documents synchronously with the MiniLM embedder and the database
vector store, calls ``django.setup()`` and migrates. One setup per process: each bench module runs in
its own subprocess (``python -m bench``), so these settings never leak into another module.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def setup(workdir: Path, *, embedder: str = "minilm", database_url: str | None = None) -> dict[str, str]:
    """Configure, set up and migrate Django against ``workdir``; returns the environment it set.

    ``database_url`` replaces the SQLite file in ``workdir`` (e.g. to try SQLite options); it must
    point at an empty database.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "STORAGE_BACKEND": "local",
        "DOCUMENT_PROCESSING": "sync",
        "EMBEDDER": embedder,
        "VECTOR_STORE": "database",
        "LLM_PROVIDER": "extractive",
        "GEMINI_API_KEY": "",
        "DJANGO_DEBUG": "false",  # DEBUG keeps every SQL query in memory, which would skew timings
        "LOG_LEVEL": "WARNING",
        "TOKENIZERS_PARALLELISM": "false",
    }
    os.environ.update(env)
    (workdir / "media").mkdir(parents=True, exist_ok=True)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return env


def tenant(label: str = "bench") -> tuple[Any, Any]:
    """A fresh user owning a fresh organisation: ``(user, org)``."""
    from accounts.services import user_create
    from tenants.services import org_create

    user = user_create(email=f"{label}@bench.example", password=None, name="Bench")
    org = org_create(user=user, name=f"Bench {label}")
    return user, org


def new_bot(*, org: Any, user: Any, name: str) -> Any:
    from bots.services import bot_create

    return bot_create(org=org, user=user, name=name)


def ingest(*, bot: Any, user: Any, data: bytes, filename: str, title: str, **process: Any) -> Any:
    """Upload and process one document in this thread (the app's own two calls); returns it, ready."""
    from documents.models import DocumentStatus
    from documents.services import document_process, document_upload

    document, _ = document_upload(
        bot=bot, user=user, data=data, filename=filename, title=title, enqueue=False
    )
    document = document_process(document_id=str(document.pk), org_id=str(document.org_id), **process)
    if document is None or document.status != DocumentStatus.READY:
        error = getattr(document, "error", "document vanished")
        raise RuntimeError(f"bench document {filename} did not index: {error}")
    return document


def chunk_embedding_texts(document: Any) -> list[str]:
    """The exact strings the pipeline embedded for ``document``'s live chunks, in ordinal order."""
    from documents.models import Chunk
    from documents.services import embedding_text  # the pipeline's own rule, so the baseline stays fair

    chunks = (
        Chunk.objects.for_org(document.org_id)
        .filter(document=document, generation=document.active_generation)
        .order_by("ordinal")
    )
    return [embedding_text(chunk, document.title) for chunk in chunks]
