"""Reads: a bot's golden questions, its evaluation runs, and its index version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from bots.models import Bot
from bots.selectors import bot_model_name
from documents.retrieval import RetrievalOptions
from documents.selectors import active_generations
from integrations.embeddings import get_embedder
from integrations.embeddings.base import Embedder

from .models import EvaluationRun, GoldenQuestion


def golden_question_list(*, bot: Bot) -> QuerySet[GoldenQuestion]:
    return GoldenQuestion.objects.for_org(bot.org_id).filter(bot=bot).order_by("created_at", "id")


def golden_question_get(*, bot: Bot, golden_id: Any) -> GoldenQuestion:
    """The bot's golden question, or 404 (another bot's or org's is indistinguishable from none)."""
    return get_object_or_404(golden_question_list(bot=bot), pk=golden_id)


def evaluation_run_list(*, bot: Bot) -> QuerySet[EvaluationRun]:
    """Newest first; the list omits the per-question outcomes (the detail has them)."""
    return EvaluationRun.objects.for_org(bot.org_id).filter(bot=bot).order_by("-created_at", "-id")


def evaluation_run_get(*, bot: Bot, run_id: Any) -> EvaluationRun:
    return get_object_or_404(evaluation_run_list(bot=bot), pk=run_id)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def bot_index(*, bot: Bot, embedder: Embedder | None = None) -> dict[str, Any]:
    """What the bot's answers depend on, besides the question: the live ``(document, generation)``
    set search reads, the embedder, the retrieval options and the bot's answer settings.

    Long texts (system prompt, fallback) and the document set appear as digests, so the record stays
    small for a bot with thousands of documents yet changes whenever they do.
    """
    embedder = embedder or get_embedder()
    active = active_generations(bot=bot, embedding_model=embedder.name)
    provider = settings.LLM_PROVIDER or ("gemini" if settings.GEMINI_API_KEY else "extractive")
    model = bot_model_name(bot=bot) or (settings.GEMINI_MODEL if provider == "gemini" else "")
    return {
        "documents": len(active),
        "documents_digest": _digest(sorted(active.items()))[:16],
        "embedder": embedder.name,
        "retrieval": asdict(RetrievalOptions()),
        "answer": {
            "top_k": bot.top_k,
            "relevance_threshold": bot.relevance_threshold,
            "temperature": bot.temperature,
            "llm_provider": provider,
            "model": model,
            "system_prompt_digest": _digest(bot.system_prompt)[:16],
            "fallback_digest": _digest(bot.fallback_message)[:16],
        },
    }


def index_version(index: dict[str, Any]) -> str:
    """A stable fingerprint of :func:`bot_index`: equal exactly when the index and settings are."""
    return _digest(index)[:20]


def bot_index_version(*, bot: Bot, embedder: Embedder | None = None) -> str:
    return index_version(bot_index(bot=bot, embedder=embedder))


def index_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two :func:`bot_index` records, as readable names ("documents",
    "answer.top_k", ...); empty when nothing does."""
    changed = []
    if before.get("documents_digest") != after.get("documents_digest"):
        changed.append("documents")
    for key in ("embedder",):
        if before.get(key) != after.get(key):
            changed.append(key)
    for group in ("retrieval", "answer"):
        old, new = before.get(group) or {}, after.get(group) or {}
        changed += [
            f"{group}.{name}" for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)
        ]
    return changed
