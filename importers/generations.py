"""Writing passages and vectors that come from elsewhere as one new generation of a document.

The importer's face of the documents pipeline's re-index contract,
`documents.services.document_write_generation` (read `documents/services/processing.py`): the
passages and their vectors are written as generation g+1 beside the live one, `active_generation`
switches to it in one transaction only once the store holds every vector, then older generations go.
Readers never see a mix, a failure keeps the previous version searchable, and transient failures of
the database or the store are retried there. This module only adds what an import run wants to hear:
an exception when the generation did not go live.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from documents.chunking import Chunk as Piece
from documents.models import Document, DocumentStatus
from documents.services import document_write_generation
from integrations.vectors.base import VectorStore


@dataclass(frozen=True)
class ImportedPassage:
    """One passage with its unit-length float32 vector."""

    text: str
    vector: np.ndarray
    page_start: int | None = None
    page_end: int | None = None
    heading_path: list[str] = field(default_factory=list)


class GenerationSuperseded(Exception):
    """Another (re)index of the document started after this one and owns it now."""


class GenerationFailed(Exception):
    """The generation did not go live; the document's error says why (its old version stays live)."""


def document_generation_write(
    *,
    document: Document,
    passages: Sequence[ImportedPassage],
    embedding_model: str,
    store: VectorStore,
    on_batch: Callable[[int, int], None] | None = None,
    on_activate: Callable[[Document], None] | None = None,
) -> Document:
    """Index `passages` as the document's new live generation; returns the document, `ready`.

    `on_activate(document)` runs inside the transaction that switches the generation live, so
    bookkeeping that must agree with it (the importer's record) commits with it or not at all.
    Raises `GenerationFailed` when it did not go live (the partial generation removed, the document
    `failed` — or `pending` again after transient failures, to be processed from its stored file),
    `GenerationSuperseded` when the document was deleted or a newer re-index took over.
    """
    if not passages:
        raise ValueError("a generation needs at least one passage")
    went_live: list[Document] = []

    def activated(current: Document) -> None:
        went_live.append(current)
        if on_activate:
            on_activate(current)

    result = document_write_generation(
        document_id=str(document.pk),
        org_id=str(document.org_id),
        pieces=[
            Piece(n, p.text, p.page_start, p.page_end, tuple(p.heading_path), 0, len(p.text))
            for n, p in enumerate(passages)
        ],
        page_count=max((p.page_end or p.page_start or 0 for p in passages), default=0) or None,
        vectors=[p.vector for p in passages],
        embedding_model=embedding_model,
        store=store,
        on_progress=on_batch,
        on_activate=activated,
    )
    if went_live and result is not None and result.status == DocumentStatus.READY:
        return result
    if result is None or result.status not in (DocumentStatus.FAILED, DocumentStatus.PENDING):
        raise GenerationSuperseded(f"document {document.pk} was deleted or re-indexed during the import")
    raise GenerationFailed(result.error)
