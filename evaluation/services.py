"""Writes: golden questions (one by one or imported from a file) and evaluation runs.

``evaluation_run`` asks every golden question of a bot through the real pipeline — the search
(``documents.retrieval.retrieve``: is the expected span in one of the top ``k`` passages?) and the
answer (``chat.services.chat_answer_trial``: did the bot answer, or give its fallback?) — and stores
the metrics of ``evaluation.metrics`` with the bot's index version. The answer step records nothing:
an evaluation never appears among the bot's conversations, analytics or usage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from bots.models import Bot
from chat.services import ChatUnavailable, chat_answer_trial
from documents.models import Document
from documents.retrieval import retrieve
from integrations.embeddings import get_embedder
from integrations.embeddings.base import Embedder
from integrations.llm import ChatModel
from integrations.vectors.base import VectorStore
from tenants.audit import audit_record
from tenants.errors import InvalidInput, Unavailable
from tenants.services_common import model_validate

from .golden_files import GoldenFileError, parse_golden_file
from .metrics import Expected, Outcome, hit_rank, summarise
from .models import ANSWER_MAX_CHARS, QUESTION_MAX_CHARS, EvaluationRun, EvaluationStatus, GoldenQuestion
from .selectors import bot_index, golden_question_list, index_version

# Passages whose document the golden question does not name all count as one source.
_ANY_DOCUMENT = "*"
K_MAX = 20


def _document(*, bot: Bot, document_id: Any) -> Document | None:
    if document_id is None:
        return None
    document = Document.objects.for_org(bot.org_id).filter(bot=bot, pk=document_id).first()
    if document is None:
        raise InvalidInput("This bot has no such document.", field="document_id")
    return document


def _room_for(*, bot: Bot, adding: int) -> None:
    limit = settings.EVALUATION_MAX_QUESTIONS
    count = golden_question_list(bot=bot).count()
    if count + adding > limit:
        raise InvalidInput(
            f"The bot has {count} golden questions and an evaluation runs at most {limit}; "
            f"adding {adding} would pass the limit. Delete some first.",
            code="too_many_questions",
        )


def _save(golden: GoldenQuestion) -> None:
    # The same question saved concurrently passes _question_taken twice; the constraint decides.
    try:
        with transaction.atomic():
            golden.save()
    except IntegrityError as exc:
        raise InvalidInput("The bot already has this golden question.", field="question") from exc


def _question_taken(*, bot: Bot, question: str, exclude: Any = None) -> bool:
    qs = golden_question_list(bot=bot).filter(question=question)
    return qs.exclude(pk=exclude).exists() if exclude else qs.exists()


@transaction.atomic
def golden_question_create(
    *,
    bot: Bot,
    user: Any,
    question: str,
    expected_answer: str = "",
    off_topic: bool = False,
    document_id: Any = None,
) -> GoldenQuestion:
    _room_for(bot=bot, adding=1)
    golden = GoldenQuestion(
        org_id=bot.org_id,
        bot=bot,
        question=question.strip(),
        expected_answer=expected_answer.strip(),
        off_topic=off_topic,
        document=_document(bot=bot, document_id=document_id),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if _question_taken(bot=bot, question=golden.question):
        raise InvalidInput("The bot already has this golden question.", field="question")
    model_validate(instance=golden)
    _save(golden)
    return golden


@transaction.atomic
def golden_question_update(*, golden: GoldenQuestion, user: Any, data: Mapping[str, Any]) -> GoldenQuestion:
    """Change the given fields (``question``, ``expected_answer``, ``off_topic``, ``document_id``)."""
    fields = dict(data)
    if "document_id" in fields:
        golden.document = _document(bot=golden.bot, document_id=fields.pop("document_id"))
    for name in ("question", "expected_answer"):
        if name in fields:
            setattr(golden, name, str(fields.pop(name)).strip())
    if "off_topic" in fields:
        golden.off_topic = bool(fields.pop("off_topic"))
    if fields:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(fields))}.")
    if _question_taken(bot=golden.bot, question=golden.question, exclude=golden.pk):
        raise InvalidInput("The bot already has this golden question.", field="question")
    model_validate(instance=golden)
    _save(golden)
    return golden


def golden_question_delete(*, golden: GoldenQuestion, user: Any) -> None:
    GoldenQuestion.objects.for_org(golden.org_id).filter(pk=golden.pk).delete()


@transaction.atomic
def golden_questions_import(*, bot: Bot, user: Any, data: bytes, filename: str) -> list[GoldenQuestion]:
    """Add every question of a CSV or JSONL file (``evaluation.golden_files``) to the bot, or none.

    Raises InvalidInput with ``errors`` per line (``{"line 3": [...]}``) when any line is bad or
    repeats a question the bot already has; nothing is written then.
    """
    limit = settings.EVALUATION_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise InvalidInput(
            f"The file is {len(data)} bytes; the limit is {limit}. Split it and import the parts.",
            code="too_large",
            field="file",
        )
    try:
        rows = parse_golden_file(
            data,
            filename=filename,
            max_question=QUESTION_MAX_CHARS,
            max_answer=ANSWER_MAX_CHARS,
            max_rows=settings.EVALUATION_MAX_QUESTIONS,
        )
    except GoldenFileError as exc:
        raise InvalidInput(exc.message, extra={"errors": exc.errors}) from exc
    # Lock the bot so two imports cannot both pass the count and the duplicate checks.
    list(Bot.objects.for_org(bot.org_id).select_for_update().filter(pk=bot.pk).values_list("pk", flat=True))
    existing = set(golden_question_list(bot=bot).values_list("question", flat=True))
    clashes = {
        f"line {row.line}": ["The bot already has this question."] for row in rows if row.question in existing
    }
    if clashes:
        raise InvalidInput(
            f"{len(clashes)} question(s) of the file are already on the bot; nothing was imported. "
            "Remove those lines and upload the file again.",
            extra={"errors": clashes},
        )
    _room_for(bot=bot, adding=len(rows))
    creator = user if getattr(user, "is_authenticated", False) else None
    created = GoldenQuestion.objects.bulk_create(
        [
            GoldenQuestion(
                org_id=bot.org_id,
                bot=bot,
                question=row.question,
                expected_answer=row.answer,
                off_topic=row.off_topic,
                created_by=creator,
            )
            for row in rows
        ]
    )
    audit_record(
        actor=user,
        action="evaluation.golden_imported",
        target=bot,
        org=bot.org,
        changes={"questions": len(created), "file": filename[:200]},
    )
    return created


def _rank(golden: GoldenQuestion, passages: list[Any], k: int) -> int | None:
    if golden.off_topic:
        return None
    if golden.document_id:
        source = str(golden.document_id)
        found = [(p.document_id, p.window) for p in passages]
    else:
        source = _ANY_DOCUMENT
        found = [(_ANY_DOCUMENT, p.window) for p in passages]
    return hit_rank(found, Expected(source=source, quote=golden.expected_answer), k=k)


def evaluation_run(
    *,
    bot: Bot,
    user: Any,
    k: int | None = None,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    model: ChatModel | None = None,
) -> EvaluationRun:
    """Evaluate ``bot`` on its golden questions now and store the run (see the module docstring).

    Raises InvalidInput when the bot has no golden questions, more than EVALUATION_MAX_QUESTIONS,
    or no ready document; Unavailable when the model fails (the run is stored as failed).
    """
    k = k or bot.top_k
    if not 1 <= k <= K_MAX:
        raise InvalidInput(f"k must be between 1 and {K_MAX}.", field="k")
    questions = list(golden_question_list(bot=bot))
    if not questions:
        raise InvalidInput(
            "The bot has no golden questions; add some (or import a CSV/JSONL file) first.",
            code="no_golden_questions",
        )
    limit = settings.EVALUATION_MAX_QUESTIONS
    if len(questions) > limit:
        raise InvalidInput(
            f"The bot has {len(questions)} golden questions; an evaluation runs at most {limit}. "
            "Delete some, or raise EVALUATION_MAX_QUESTIONS.",
            code="too_many_questions",
        )
    embedder = embedder or get_embedder()
    index = bot_index(bot=bot, embedder=embedder)
    if not index["documents"]:
        raise InvalidInput(
            "The bot has no ready documents to search; upload documents and wait until they are ready.",
            code="no_ready_documents",
        )
    run = EvaluationRun(
        org_id=bot.org_id,
        bot=bot,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        k=k,
        index_version=index_version(index),
        index=index,
        questions=len(questions),
    )
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    details: list[dict[str, Any]] = []
    try:
        for golden in questions:
            asked = time.perf_counter()
            passages = retrieve(bot=bot, query=golden.question, top_k=k, embedder=embedder, store=store)
            rank = _rank(golden, passages, k)
            answer = chat_answer_trial(
                bot=bot, message=golden.question, model=model, embedder=embedder, store=store
            )
            seconds = time.perf_counter() - asked
            outcomes.append(Outcome(str(golden.pk), not golden.off_topic, rank, answer.answered, seconds))
            details.append(
                {
                    "golden_question_id": str(golden.pk),
                    "question": golden.question,
                    "off_topic": golden.off_topic,
                    "rank": rank,
                    "answered": answer.answered,
                    "answer": answer.text[:500],
                    "top_document_id": passages[0].document_id if passages else None,
                    "ms": round(seconds * 1000, 1),
                }
            )
    except ChatUnavailable as exc:
        run.status, run.error = EvaluationStatus.FAILED, exc.message[:2000]
        run.outcomes, run.duration_ms = details, int((time.perf_counter() - started) * 1000)
        run.save()
        raise Unavailable(
            f"The evaluation stopped at question {len(details) + 1} of {len(questions)}: {exc.message}",
            code="model_unavailable",
            extra={"evaluation_id": str(run.pk)},
        ) from exc
    summary = summarise(outcomes, k=k)
    run.on_topic, run.off_topic = summary.on_topic, summary.off_topic
    if summary.on_topic:
        run.recall, run.mrr, run.answered_rate = summary.recall, summary.mrr, summary.answered_rate
    if summary.off_topic:
        run.fallback_rate = summary.fallback_rate
    run.outcomes, run.duration_ms = details, int((time.perf_counter() - started) * 1000)
    run.save()
    return run
