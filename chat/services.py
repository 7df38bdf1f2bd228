"""Grounded chat: retrieve, decide, prompt, generate, persist. Plus feedback and bot API keys.

`chat_answer` is the one path every channel (builder, public, api) goes through:
1. retrieve the bot's top_k passages (hybrid dense + lexical search with neighbouring context,
   documents.retrieval);
2. decide whether they can answer (chat.answerability: similarity plus the share of the question's
   key words the knowledge base has never seen); if not, answer the bot's fallback message *without*
   calling the model (`unanswered`);
3. otherwise assemble the grounded prompt (chat.prompts) with the recent conversation and ask the model;
4. post-process: an answer that cites no passage or says it does not know becomes the fallback, marked
   `unanswered`; otherwise citations are renumbered to point into `sources`;
5. persist the question and the answer with its sources, usage and latency (analytics read these).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bots.models import Bot
from bots.selectors import bot_model_name
from documents import lexical
from documents.retrieval import RetrievalOptions, retrieve_detailed
from documents.serializers import SourceSerializer
from integrations import metering
from integrations.embeddings import get_embedder
from integrations.embeddings.base import Embedder
from integrations.llm import ChatModel, Generation, ModelUnavailable, Passage, Turn, get_chat_model
from integrations.llm.citations import renumber_as_sources
from integrations.metrics import BYTES, MILLISECONDS, Metric, emit_quietly, ms_since
from integrations.vectors.base import VectorStore
from tenants.audit import audit_record
from tenants.errors import InvalidInput, Unavailable

from .answerability import AnswerPolicy, Assessment, assess, declines_to_answer
from .keys import API_KEY_PREFIX
from .models import BotApiKey, Channel, Conversation, Message, Rating, Role
from .prompts import build_prompt
from .quotas import messages_quota_enforce, tokens_quota_enforce
from .signals import turn_recorded

HISTORY_MESSAGES = 20


class ChatUnavailable(Unavailable):
    """The model could not answer (quota, outage, safety block): 503, the exchange still recorded.

    Its message names the reason (quota, project, key fragments) and is for operators: the builder
    and API-key channels. Anonymous channels get ``for_visitors()`` and nothing else.
    """

    code = "model_unavailable"

    def __init__(self, reason: str, *, public_message: str, message_id: str = "") -> None:
        super().__init__(f"The model could not answer: {reason}", extra={"message_id": message_id})
        self.public_message = public_message
        self.message_id = message_id

    def for_visitors(self) -> Unavailable:
        """The one public form of this error, JSON or streamed: the polite text and the message id."""
        return Unavailable(self.public_message, code=self.code, extra={"message_id": self.message_id})


@dataclass
class ChatResult:
    """One finished exchange; ``chat.serializers.ChatOutputSerializer`` is its response shape."""

    conversation: Conversation
    message: Message  # the assistant's
    sources: list[dict[str, Any]]
    latency_ms: int


@dataclass
class _Turn:
    bot: Bot
    conversation: Conversation  # unsaved when the exchange starts a new conversation
    question: str
    assessment: Assessment
    history: list[Turn]
    started: float
    usage: Counter = field(default_factory=Counter)  # integrations.metering, around retrieval
    retrieval_ms: float = 0.0
    model_started: float | None = None  # time.monotonic() when the model was asked, if it was
    model: ChatModel | None = None  # who answers, resolved in _start when there are passages to answer from

    @property
    def passages(self) -> list[Passage]:
        """What the model is given (empty when the passages cannot answer)."""
        return self.assessment.passages


def _validate_message(message: str) -> str:
    text = (message or "").strip()
    if not text:
        raise InvalidInput("The message is empty; type a question.", field="message")
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise InvalidInput(
            f"The message is {len(text)} characters; the limit is {limit}. Shorten it.", field="message"
        )
    return text


def _history(conversation: Conversation) -> list[Turn]:
    recent = list(
        Message.objects.for_org(conversation.org_id)
        .filter(conversation=conversation, error="")
        .order_by("-created_at", "-id")
        .values_list("role", "content")[:HISTORY_MESSAGES]
    )
    return [Turn(role=role, content=content) for role, content in reversed(recent)]


def _start(
    *,
    bot: Bot,
    message: str,
    conversation: Conversation | None,
    channel: str,
    user: Any = None,
    visitor_id: str = "",
    api_key: BotApiKey | None = None,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    retrieval: RetrievalOptions | None = None,
    policy: AnswerPolicy | None = None,
    model: ChatModel | None = None,
) -> _Turn:
    started = time.monotonic()
    question = _validate_message(message)
    messages_quota_enforce(org=bot.org)
    if conversation is None:
        # Saved with both messages in one transaction when the exchange finishes (_finish).
        conversation = Conversation(
            org_id=bot.org_id,
            bot=bot,
            channel=channel,
            visitor_id=visitor_id,
            user=user if getattr(user, "is_authenticated", False) else None,
            api_key=api_key,
            title=question[:200],
        )
        history: list[Turn] = []
    else:
        history = _history(conversation)
    retrieval_started = time.monotonic()
    with metering.collect() as usage:
        assessment = _assess(
            bot=bot, question=question, embedder=embedder, store=store, retrieval=retrieval, policy=policy
        )
    if assessment.passages:
        model = model or get_chat_model(model=bot_model_name(bot=bot))
        if getattr(model, "billed", True):
            # A paid model will be asked: not once the month's tokens are spent. The offline answerer
            # spends no key, so the tokens quota never stops it (its tokens are estimates).
            tokens_quota_enforce(org=bot.org)
    return _Turn(
        bot,
        conversation,
        question,
        assessment,
        history,
        started,
        usage,
        ms_since(retrieval_started),
        model=model if assessment.passages else None,
    )


def _assess(
    *,
    bot: Bot,
    question: str,
    embedder: Embedder | None,
    store: VectorStore | None,
    retrieval: RetrievalOptions | None,
    policy: AnswerPolicy | None,
) -> Assessment:
    """Retrieve the bot's passages and decide whether they can answer (chat.answerability)."""
    embedder = embedder or get_embedder()
    found = retrieve_detailed(
        bot=bot, query=question, top_k=bot.top_k, embedder=embedder, store=store, options=retrieval
    )
    total, counts = lexical.document_frequencies(
        org_id=str(bot.org_id), bot_id=str(bot.pk), active=found.active, words=found.words
    )
    policy = policy or AnswerPolicy.for_bot(
        embedding_model=embedder.name, relevance_threshold=bot.relevance_threshold
    )
    return assess(passages=found.passages, counts=counts, total=total, policy=policy)


def _grounded(turn: _Turn, generation: Generation) -> tuple[str, list[Passage]] | None:
    """``(answer with citations pointing into sources, sources)``, or None when the model did not
    answer from the passages: it cited none of them, or said it does not know."""
    return _grounded_in(turn.passages, generation)


def _grounded_in(passages: list[Passage], generation: Generation) -> tuple[str, list[Passage]] | None:
    numbers = [n for n in generation.cited if 0 < n <= len(passages)]
    if not numbers or declines_to_answer(generation.text):
        return None
    return renumber_as_sources(generation.text, numbers), [passages[n - 1] for n in numbers]


def _finish(turn: _Turn, *, text: str, generation: Generation | None, error: str = "") -> ChatResult:
    cited: list[Passage] = []
    answered = False
    if generation is not None:
        grounded = _grounded(turn, generation)
        if grounded is not None:
            (text, cited), answered = grounded, True
        elif not error:
            text = turn.bot.fallback_message
    sources = list(SourceSerializer(cited, many=True).data)
    model_ms = ms_since(turn.model_started) if turn.model_started is not None else None
    latency_ms = int((time.monotonic() - turn.started) * 1000)
    conversation, org_id = turn.conversation, turn.bot.org_id
    # One transaction for the whole exchange: the question, the answer and the conversation's
    # counters appear together or not at all (and a chat turn costs one commit).
    with transaction.atomic():
        new_conversation = conversation._state.adding
        if new_conversation:
            conversation.message_count = 2
            conversation.save(force_insert=True)
        else:
            Conversation.objects.for_org(org_id).filter(pk=conversation.pk).update(
                message_count=F("message_count") + 2, last_activity_at=timezone.now()
            )
        question = Message.objects.create(
            org_id=org_id, bot=turn.bot, conversation=conversation, role=Role.USER, content=turn.question
        )
        answer = Message.objects.create(
            org_id=turn.bot.org_id,
            bot=turn.bot,
            conversation=turn.conversation,
            role=Role.ASSISTANT,
            content=text,
            sources=sources,
            unanswered=not answered,
            model_name=generation.model if generation else "",
            prompt_tokens=generation.prompt_tokens if generation else 0,
            completion_tokens=generation.completion_tokens if generation else 0,
            latency_ms=latency_ms,
            embeddings_computed=turn.usage["embeddings_computed"],
            embedding_tokens=turn.usage["embedding_tokens"],
            vector_bytes_read=turn.usage["vector_bytes_read"],
            error=error[:500],
        )
        # Last in the transaction: the analytics rollup upsert holds its row lock only until commit.
        turn_recorded.send(
            sender=Message,
            conversation=conversation,
            question=question,
            answer=answer,
            new_conversation=new_conversation,
        )
    _emit_metrics(turn, answer, model_ms=model_ms, fallback=generation is None and not error)
    return ChatResult(conversation, answer, sources, latency_ms)


def _emit_metrics(turn: _Turn, answer: Message, *, model_ms: float | None, fallback: bool) -> None:
    """One EMF event per turn (integrations.metrics): per channel, plus Unanswered per stage for the
    unanswered-rate alarm (its Average is the rate). Tenants are properties, never dimensions."""
    metrics = [
        Metric("ChatLatency", answer.latency_ms, MILLISECONDS),
        Metric("RetrievalLatency", turn.retrieval_ms, MILLISECONDS),
        Metric("VectorBytesRead", turn.usage["vector_bytes_read"], BYTES),
        Metric("Unanswered", int(answer.unanswered)),
        Metric("Fallback", int(fallback)),
        Metric("ModelErrors", int(bool(answer.error))),
    ]
    if model_ms is not None:
        metrics += [
            Metric("ModelLatency", model_ms, MILLISECONDS),
            Metric("PromptTokens", answer.prompt_tokens),
            Metric("CompletionTokens", answer.completion_tokens),
        ]
    emit_quietly(
        metrics,
        dimensions={"channel": turn.conversation.channel},
        properties={
            "org": str(answer.org_id),
            "bot": str(answer.bot_id),
            "conversation": str(answer.conversation_id),
            "message": str(answer.pk),
            "model": answer.model_name,
        },
        by_stage=["Unanswered"],
    )


def _prompt(turn: _Turn):
    return build_prompt(
        system_prompt=turn.bot.system_prompt,
        passages=turn.passages,
        history=turn.history,
        question=turn.question,
        history_token_budget=settings.CHAT_HISTORY_TOKEN_BUDGET,
    )


def _unavailable(turn: _Turn, exc: ModelUnavailable) -> ChatUnavailable:
    result = _finish(turn, text=exc.public_message, generation=None, error=exc.reason)
    return ChatUnavailable(
        exc.reason,
        public_message=exc.public_message,
        message_id=str(result.message.pk),
    )


def chat_answer(
    *,
    bot: Bot,
    message: str,
    conversation: Conversation | None = None,
    channel: str = Channel.BUILDER,
    model: ChatModel | None = None,
    **context: Any,
) -> ChatResult:
    """Answer `message` from the bot's knowledge base and persist the exchange.

    Raises InvalidInput for a bad message and ChatUnavailable (503) when the model fails; in the
    latter case the exchange is still recorded, marked unanswered with the reason.
    """
    turn = _start(
        bot=bot, message=message, conversation=conversation, channel=channel, model=model, **context
    )
    if not turn.passages:
        return _finish(turn, text=bot.fallback_message, generation=None)
    turn.model_started = time.monotonic()
    try:
        generation = turn.model.generate(
            prompt=_prompt(turn), passages=turn.passages, temperature=bot.temperature
        )
    except ModelUnavailable as exc:
        raise _unavailable(turn, exc)
    return _finish(turn, text=generation.text, generation=generation)


def chat_answer_stream(
    *,
    bot: Bot,
    message: str,
    conversation: Conversation | None = None,
    channel: str = Channel.BUILDER,
    model: ChatModel | None = None,
    **context: Any,
) -> Iterator[tuple[str, Any]]:
    """Like `chat_answer`, as events: ("token", {"text"}) deltas, then ("done", ChatResult) or
    ("error", ChatUnavailable). The edge renders them, choosing what each channel may see.

    Validation happens before the first event, so a bad message still raises InvalidInput.
    """
    turn = _start(
        bot=bot, message=message, conversation=conversation, channel=channel, model=model, **context
    )

    def events() -> Iterator[tuple[str, Any]]:
        if not turn.passages:
            result = _finish(turn, text=bot.fallback_message, generation=None)
            yield "token", {"text": result.message.content}
            yield "done", result
            return
        generation = None
        turn.model_started = time.monotonic()
        try:
            for piece in turn.model.stream(
                prompt=_prompt(turn), passages=turn.passages, temperature=bot.temperature
            ):
                if isinstance(piece, Generation):
                    generation = piece
                else:
                    yield "token", {"text": piece}
        except ModelUnavailable as exc:
            # Text already streamed is withdrawn: the client replaces it with this message.
            yield "error", _unavailable(turn, exc)
            return
        if generation is None:
            ended = ModelUnavailable("the model stream ended without a final answer")
            yield "error", _unavailable(turn, ended)
            return
        yield "done", _finish(turn, text=generation.text, generation=generation)

    return events()


@dataclass(frozen=True)
class TrialAnswer:
    """What the bot would answer to a first message: the text, whether it answered (not the
    fallback) and the passages it cited."""

    text: str
    answered: bool
    sources: list[Passage]


def chat_answer_trial(
    *,
    bot: Bot,
    message: str,
    model: ChatModel | None = None,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    retrieval: RetrievalOptions | None = None,
    policy: AnswerPolicy | None = None,
) -> TrialAnswer:
    """``chat_answer`` for a first message, recording nothing: no conversation, message, analytics
    rollup, turn signal or metric. For evaluations, which must not count as the bot's traffic.

    The same steps decide the answer (retrieval, answerability, prompt, model, grounding check).
    Raises InvalidInput for a bad message and ChatUnavailable when the model fails.
    """
    question = _validate_message(message)
    assessment = _assess(
        bot=bot, question=question, embedder=embedder, store=store, retrieval=retrieval, policy=policy
    )
    if not assessment.passages:
        return TrialAnswer(bot.fallback_message, False, [])
    model = model or get_chat_model(model=bot_model_name(bot=bot))
    prompt = build_prompt(
        system_prompt=bot.system_prompt,
        passages=assessment.passages,
        history=[],
        question=question,
        history_token_budget=settings.CHAT_HISTORY_TOKEN_BUDGET,
    )
    try:
        generation = model.generate(prompt=prompt, passages=assessment.passages, temperature=bot.temperature)
    except ModelUnavailable as exc:
        raise ChatUnavailable(exc.reason, public_message=exc.public_message) from exc
    grounded = _grounded_in(assessment.passages, generation)
    if grounded is None:
        return TrialAnswer(bot.fallback_message, False, [])
    text, cited = grounded
    return TrialAnswer(text, True, cited)


# --- Feedback --------------------------------------------------------------------------------


def feedback_record(*, message: Message, rating: str, comment: str = "") -> Message:
    if message.role != Role.ASSISTANT:
        raise InvalidInput(
            "Feedback applies to the bot's answers only; rate an assistant message.", field="message_id"
        )
    Rating(rating)  # validated by the serializer; a bad value here is a programming error
    message.rating = rating
    message.feedback_comment = comment.strip()[:2000]
    message.feedback_at = timezone.now()
    message.save(update_fields=["rating", "feedback_comment", "feedback_at"])
    return message


# --- Public channel --------------------------------------------------------------------------


def new_visitor_id() -> str:
    return "v_" + secrets.token_urlsafe(18)


# --- API keys --------------------------------------------------------------------------------


def _hash_key(raw: str) -> str:
    # Keys are 256-bit random: a plain SHA-256 is enough (no dictionary to defend against).
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, bot: Bot, user: Any, name: str) -> tuple[BotApiKey, str]:
    """Create a key for `bot`; returns the row and the raw key, which is never stored or shown again."""
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = BotApiKey.objects.create(
        org_id=bot.org_id,
        bot=bot,
        name=name.strip()[:100],
        prefix=raw[:10],
        key_hash=_hash_key(raw),
        created_by=user,
    )
    audit_record(actor=user, action="api_key.created", target=key, org=bot.org, changes={"name": key.name})
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: BotApiKey, user: Any) -> BotApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            actor=user, action="api_key.revoked", target=key, org=key.bot.org, changes={"name": key.name}
        )
    return key


def api_key_authenticate(raw: str) -> BotApiKey | None:
    """The active key matching `raw`, with its bot, or None.

    The key itself identifies the tenant, so this lookup is by hash across orgs (the escape hatch);
    everything after it is scoped to the key's org and bot.
    """
    if not raw or not raw.startswith(API_KEY_PREFIX):
        return None
    key = (
        BotApiKey.all_orgs.select_related("bot", "bot__org")
        .filter(key_hash=_hash_key(raw), revoked_at__isnull=True)
        .first()
    )
    if key is not None:
        BotApiKey.objects.for_org(key.org_id).filter(pk=key.pk).update(last_used_at=timezone.now())
    return key
