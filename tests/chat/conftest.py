from __future__ import annotations

from types import SimpleNamespace

import pytest

from documents.services import document_process, document_upload
from integrations.llm import clear_chat_model_cache

FAQ = b"""# Returns

Refunds are issued within 14 days of the parcel arriving at our warehouse.

# Opening hours

The office opens at 08:30 and closes at 18:00 from Monday to Friday.
"""


@pytest.fixture(autouse=True)
def _rate_limit_clock(monkeypatch):
    """Rate limits count in fixed windows: frozen 30 s into a minute, no test straddles a boundary
    (which would reset the counters halfway and let extra requests through)."""
    monkeypatch.setattr("chat.ratelimit.time", SimpleNamespace(time=lambda: 1_800_000_030.0))


@pytest.fixture(autouse=True)
def _fresh_models():
    clear_chat_model_cache()
    yield
    clear_chat_model_cache()


@pytest.fixture
def kb_bot(bot, owner):
    """The org's bot with a small indexed FAQ (fake embedder), allowed on one website origin."""
    document, _ = document_upload(bot=bot, user=owner, data=FAQ, filename="faq.md", enqueue=False)
    document_process(document_id=str(document.pk), org_id=str(bot.org_id))
    bot.allowed_origins = ["https://shop.example.com"]
    bot.relevance_threshold = 0.1  # the fake embedder is lexical: unrelated text scores < 0.07 here
    bot.save()
    return bot


def chat_url(bot, suffix="chat/"):
    return f"/api/orgs/{bot.org_id}/bots/{bot.pk}/{suffix}"
