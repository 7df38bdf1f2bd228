from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from bots.models import Bot

from .models import Chunk, Document


def document_list(*, bot: Bot, status: str | None = None) -> QuerySet[Document]:
    qs = Document.objects.for_org(bot.org_id).filter(bot=bot).order_by("-created_at", "id")
    return qs.filter(status=status) if status else qs


def document_get(*, bot: Bot, document_id: Any) -> Document:
    return get_object_or_404(
        Document.objects.for_org(bot.org_id).filter(bot=bot).select_related("bot__org"), pk=document_id
    )


def chunk_list(*, document: Document) -> QuerySet[Chunk]:
    """The live generation's passages (empty while a first index is still being built)."""
    return (
        Chunk.objects.for_org(document.org_id)
        .filter(document=document, generation=document.active_generation)
        .order_by("ordinal")
    )


def active_generations(
    *, bot: Bot, document_ids: list[Any] | None = None, embedding_model: str | None = None
) -> dict[str, int]:
    """document id -> live generation for the bot's searchable documents (the `active` map of a search).

    With `embedding_model`, only documents embedded by that model: vectors of another model live in
    another space, and comparing a query with them would return confident nonsense.
    """
    qs = Document.objects.for_org(bot.org_id).filter(bot=bot, active_generation__isnull=False)
    if embedding_model is not None:
        qs = qs.filter(embedding_model=embedding_model)
    if document_ids is not None:
        qs = qs.filter(pk__in=document_ids)
    return {str(pk): gen for pk, gen in qs.values_list("pk", "active_generation")}
