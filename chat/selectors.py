from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from bots.models import Bot

from .models import BotApiKey, Channel, Conversation, Message


def conversation_list(
    *,
    bot: Bot,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: str | None = None,
    unanswered: bool | None = None,
    rating: str | None = None,
) -> QuerySet[Conversation]:
    qs = Conversation.objects.for_org(bot.org_id).filter(bot=bot)
    if since:
        qs = qs.filter(started_at__gte=since)
    if until:
        qs = qs.filter(started_at__lt=until)
    if channel:
        qs = qs.filter(channel=channel)
    messages = Message.objects.for_org(bot.org_id).filter(conversation=OuterRef("pk"))
    if unanswered is not None:
        has_unanswered = Exists(messages.filter(unanswered=True, role="assistant"))
        qs = qs.filter(has_unanswered) if unanswered else qs.exclude(has_unanswered)
    if rating:
        qs = qs.filter(Exists(messages.filter(rating=rating)))
    return qs.order_by("-last_activity_at", "-id")


def conversation_get(*, bot: Bot, conversation_id: Any) -> Conversation:
    return get_object_or_404(Conversation.objects.for_org(bot.org_id).filter(bot=bot), pk=conversation_id)


def conversation_to_continue(*, bot: Bot, conversation_id: Any, channel: str) -> Conversation | None:
    """The bot's conversation on `channel` to continue, None to start one, 404 for anything else."""
    if not conversation_id:
        return None
    return get_object_or_404(
        Conversation.objects.for_org(bot.org_id).filter(bot=bot, channel=channel), pk=conversation_id
    )


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    return (
        Message.objects.for_org(conversation.org_id)
        .filter(conversation=conversation)
        .order_by("created_at", "id")
    )


def _with_messages(conversations: QuerySet[Conversation], org_id: Any) -> QuerySet[Conversation]:
    """Prefetch each conversation's messages in order, as ``ordered_messages`` (the detail shape)."""
    ordered = Message.objects.for_org(org_id).order_by("created_at", "id")
    return conversations.prefetch_related(Prefetch("messages", queryset=ordered, to_attr="ordered_messages"))


def conversation_with_messages(*, bot: Bot, conversation_id: Any) -> Conversation:
    """The bot's conversation with ``ordered_messages``, or 404."""
    qs = Conversation.objects.for_org(bot.org_id).filter(bot=bot)
    return get_object_or_404(_with_messages(qs, bot.org_id), pk=conversation_id)


def message_get(*, bot: Bot, message_id: Any) -> Message:
    return get_object_or_404(Message.objects.for_org(bot.org_id).filter(bot=bot), pk=message_id)


def api_key_list(*, bot: Bot) -> QuerySet[BotApiKey]:
    return BotApiKey.objects.for_org(bot.org_id).filter(bot=bot).order_by("-created_at")


def api_key_get(*, bot: Bot, key_id: Any) -> BotApiKey:
    return get_object_or_404(api_key_list(bot=bot), pk=key_id)


# --- Public channel: the bot is identified by its public id, the visitor by their token --------


def public_bot_get(*, public_id: str) -> Bot:
    """The bot behind a public id. The public id is the tenant key here, so this lookup is across
    orgs (the escape hatch); everything after it is scoped to the bot's org."""
    bot = Bot.all_orgs.select_related("org").filter(public_id=public_id).first()
    if bot is None:
        raise Http404("No such bot.")
    return bot


def public_conversation_get(
    *, bot: Bot, conversation_id: Any, visitor_id: str, with_messages: bool = False
) -> Conversation:
    """The visitor's own public conversation, or 404 — another visitor's looks like a missing one.

    ``with_messages`` prefetches them in order as ``ordered_messages``.
    """
    if not visitor_id:
        raise Http404("No such conversation.")
    qs = Conversation.objects.for_org(bot.org_id).filter(
        bot=bot, channel=Channel.PUBLIC, visitor_id=visitor_id
    )
    if with_messages:
        qs = _with_messages(qs, bot.org_id)
    return get_object_or_404(qs, pk=conversation_id)


def public_message_bot(*, message_id: Any) -> Bot:
    """The bot of a public-channel message, to answer the feedback route's CORS (preflights carry
    no visitor token). The message id is the key here, so this lookup is across orgs."""
    bot = (
        Bot.all_orgs.select_related("org")
        .filter(
            pk__in=Message.all_orgs.filter(pk=message_id, conversation__channel=Channel.PUBLIC).values(
                "bot_id"
            )
        )
        .first()
    )
    if bot is None:
        raise Http404("No such message.")
    return bot


def public_message_get(*, bot: Bot, message_id: Any, visitor_id: str) -> Message:
    """The visitor's own message of `bot`, or 404 — another visitor's looks like a missing one."""
    message = (
        Message.objects.for_org(bot.org_id)
        .select_related("conversation")
        .filter(pk=message_id, bot=bot, conversation__channel=Channel.PUBLIC)
        .first()
    )
    if message is None or not visitor_id or message.conversation.visitor_id != visitor_id:
        raise Http404("No such message.")
    return message
