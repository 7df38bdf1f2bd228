from __future__ import annotations

import pytest

from documents.services import document_process, document_upload

RETURNS = b"""# Returns

Refunds are issued within 14 days of the parcel arriving at our warehouse.
Items bought in a sale can be exchanged but not refunded.
"""

HOURS = b"""# Opening hours

The office opens at 08:30 and closes at 18:00 from Monday to Friday.
On public holidays the support line is staffed from 10:00 to 14:00 only.
"""

SHIPPING = b"""# Shipping

Parcels to Belgium and the Netherlands arrive within two working days.
Orders over 50 euros ship free of charge; smaller orders pay a flat 4.95 euro fee.
"""


def index(bot, user, data: bytes, filename: str, **process):
    document, _ = document_upload(bot=bot, user=user, data=data, filename=filename, enqueue=False)
    document = document_process(document_id=str(document.pk), org_id=str(bot.org_id), **process)
    assert document.status == "ready", document.error
    return document


@pytest.fixture
def kb_bot(bot, owner):
    """The org's bot with three small indexed documents (the test embedder)."""
    bot.documents_for_test = [
        index(bot, owner, RETURNS, "returns.md"),
        index(bot, owner, HOURS, "hours.md"),
        index(bot, owner, SHIPPING, "shipping.md"),
    ]
    bot.relevance_threshold = 0.1  # the fake embedder is lexical: unrelated text scores < 0.07 here
    bot.save()
    return bot


def url(bot, suffix: str = "") -> str:
    return f"/api/orgs/{bot.org_id}/bots/{bot.pk}/{suffix}"
