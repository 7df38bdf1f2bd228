"""Demo knowledge base for `make run`: three real documents written by the project, indexed now.

Idempotent: the demo files are built byte for byte the same every run, and the seed is keyed by file
name within the demo bot, so re-running adds nothing; copies left by older seeds (whose DOCX bytes
differed per run) are deleted, keeping one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .models import DocumentStatus
from .samples import write_demo_documents
from .selectors import document_list
from .services import document_delete, document_process, document_upload


def seed_demo_documents(*, org: Any, bot: Any, user: Any) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_demo_documents(Path(tmp)):
            copies = list(document_list(bot=bot).filter(filename=path.name))
            ready = [d for d in copies if d.status == DocumentStatus.READY]
            document = (ready or copies or [None])[0]
            for extra in copies:
                if extra != document:
                    document_delete(document=extra, user=user)
                    yield f"Document: removed a duplicate of {path.name}"
            if document is None:
                document, _ = document_upload(
                    bot=bot, user=user, data=path.read_bytes(), filename=path.name, enqueue=False
                )
            if document.status != DocumentStatus.READY:
                document = document_process(document_id=str(document.pk), org_id=str(org.pk))
            yield f"Document: {document.title} — {document.status} ({document.chunk_count} passages)"
