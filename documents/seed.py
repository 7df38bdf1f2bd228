"""Demo knowledge base for `make run`: three real documents written by the project, indexed now."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .models import DocumentStatus
from .samples import write_demo_documents
from .services import document_process, document_upload


def seed_demo_documents(*, org: Any, bot: Any, user: Any) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_demo_documents(Path(tmp)):
            document, created = document_upload(
                bot=bot, user=user, data=path.read_bytes(), filename=path.name, enqueue=False
            )
            if created or document.status != DocumentStatus.READY:
                document = document_process(document_id=str(document.pk), org_id=str(org.pk))
            yield f"Document: {document.title} — {document.status} ({document.chunk_count} passages)"
