"""Knowledge-base writes (filled in by the knowledge-base work)."""

from __future__ import annotations

from typing import Any


def org_purge_external_data(*, org: Any) -> None:
    """Delete an org's files and vectors that live outside the relational database."""
    from bots.models import Bot

    for bot in Bot.objects.for_org(org):
        bot_purge_external_data(bot=bot)


def bot_purge_external_data(*, bot: Any) -> None:
    """Delete a bot's files and vectors that live outside the relational database."""
    return None
