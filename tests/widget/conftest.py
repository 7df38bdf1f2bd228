"""Browser fixtures: the system Chromium driven by Playwright, and a bot with a small knowledge base.

The tests skip, saying why, only when no Chromium is installed (`apt-get install -y chromium`; .ci/run
installs it). Playwright itself is a dev dependency: its absence is an error, not a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from documents.samples import DEMO_PDF_PAGES, build_pdf
from documents.services import document_process, document_upload
from integrations.llm import clear_chat_model_cache
from tests.integrations.gemini_fake_server import FakeGeminiServer, text_response

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

FAQ = """Shipping and orders

Standard delivery within the UK takes 2 to 4 working days. Express delivery arrives the next working day.

Our office opens at 08:30 and closes at 18:00 from Monday to Friday.
"""


def chromium_executable() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser"):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator:
    executable = chromium_executable()
    if executable is None:
        pytest.skip(
            "No Chromium on this machine: install Debian's package (apt-get install -y chromium) or set "
            "CHROMIUM_PATH; .ci/run installs it."
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running on this thread, and Django refuses ORM calls
    # from a thread with a running loop; the test's own ORM calls are ordinary synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Browsing:
    """A fresh browser context and page, with every console error, page error and failed request."""

    page: object
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def browsing(browser) -> Iterator[Browsing]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = Browsing(page=page)
    page.on(
        "console",
        lambda m: seen.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: seen.problems.append(f"page error: {error}"))
    page.on(
        "requestfailed", lambda r: seen.problems.append(f"request failed: {r.method} {r.url} {r.failure}")
    )
    yield seen
    context.close()


@pytest.fixture
def widget_bot(org, owner):
    """A bot with the demo warranty policy (PDF, pages) and a small FAQ, indexed with the fake embedder."""
    from tests.factories import make_bot

    bot = make_bot(
        org,
        "Demo shop assistant",
        greeting="Hi! Ask me about **warranty**, delivery or opening hours.",
        suggested_questions=["How long is the robot vacuum warranty?", "When does the office open?"],
        relevance_threshold=0.1,  # the fake embedder is lexical: unrelated text scores < 0.07
    )
    for data, filename, title in (
        (build_pdf(DEMO_PDF_PAGES), "policy.pdf", "Returns and Warranty Policy"),
        (FAQ.encode(), "faq.txt", "Shop FAQ"),
    ):
        document, _ = document_upload(
            bot=bot, user=owner, data=data, filename=filename, title=title, enqueue=False
        )
        document = document_process(document_id=str(document.pk), org_id=str(org.pk))
        assert document.status == "ready", document.error
    return bot


@pytest.fixture
def gemini(settings) -> Iterator[FakeGeminiServer]:
    """Answers come from the real Gemini adapter talking to the local fake Gemini server."""
    with FakeGeminiServer() as server:
        settings.LLM_PROVIDER = "gemini"
        settings.GEMINI_API_KEY = "test-key"
        settings.GEMINI_BASE_URL = server.url
        clear_chat_model_cache()
        yield server
    clear_chat_model_cache()


def stream_of(*pieces: str) -> list[dict]:
    """Gemini streaming chunks: one per piece, the last one with the finish reason and usage."""
    events = [text_response(piece, finish_reason=None) for piece in pieces[:-1]]
    events.append(text_response(pieces[-1], prompt_tokens=120, completion_tokens=30))
    return events
