"""The widget in real Chromium, embedded in a customer's page served from another origin.

Botwright runs as pytest-django's live server (its own loopback port); the customer's site is a
static server on a second port. Answers stream from the real Gemini adapter talking to the local fake
Gemini server, paced like a model, so streamed text is visible before the answer completes.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

import pytest

from bots.embed import embed_snippet
from bots.services import bot_avatar_set
from chat.models import Conversation, Message

from .conftest import stream_of
from .images import png
from .site import StaticSite, customer_page

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Records the streamed bubble's text every time it changes while the answer is still coming.
RECORD_STREAM = """() => {
  window.__frames = [];
  const root = document.querySelector("botwright-chat").shadowRoot;
  new MutationObserver(() => {
    const bubbles = root.querySelectorAll(".msg.bot[aria-busy=true]");
    const last = bubbles[bubbles.length - 1];
    if (last && last.textContent && !last.querySelector(".typing")) window.__frames.push(last.textContent);
  }).observe(root.querySelector(".log"), {childList: true, subtree: true, characterData: true});
}"""


@contextmanager
def customer_site(page, bot, live_server, *, allowed=True):
    """Open a page of another origin that embeds `bot`'s snippet; `allowed` makes it the bot's origin."""
    with StaticSite({}) as site:
        site.pages["/"] = customer_page(embed_snippet(bot=bot, base_url=live_server.url))
        bot.allowed_origins = [site.origin] if allowed else ["https://shop.example.com"]
        bot.save()
        page.goto(site.origin + "/")
        yield site


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def open_chat(page, name):
    page.get_by_role("button", name=f"Open chat with {name}").click()
    dialog = page.get_by_role("dialog", name=name)
    expect(dialog).to_be_visible()
    return dialog


def ask(page, question):
    box = page.get_by_label("Your question")
    box.fill(question)
    with page.expect_response(lambda r: r.url.endswith("/chat/") and r.request.method == "POST") as answer:
        box.press("Enter")
    # The whole body, not just the headers: the server's turn is over (the stream's last event
    # reaches the page before the server has closed it), so the test may read the database.
    answer.value.finished()
    return answer.value


def last_answer(page):
    return page.locator("botwright-chat .msg.bot").last


def test_a_visitor_chats_from_another_origin_streams_rates_reloads_and_continues(
    browsing, live_server, widget_bot, gemini, owner
):
    page, bot = browsing.page, widget_bot
    bot_avatar_set(bot=bot, user=owner, data=png(64, 64))
    with customer_site(page, bot, live_server):
        dialog = open_chat(page, bot.name)
        # The greeting's Markdown is rendered (bold), suggestions are offered, the avatar loads cross-origin.
        expect(dialog.locator(".greeting strong")).to_have_text("warranty")
        expect(dialog.get_by_role("button", name="When does the office open?")).to_be_visible()
        expect(dialog.locator(".avatar img")).to_be_visible()
        assert dialog.locator(".avatar img").evaluate("img => img.naturalWidth") == 64

        # 1. A streamed answer with a citation.
        gemini.enqueue_stream(
            stream_of(
                "Every Botwright robot vacuum ",
                "comes with a **2-year** ",
                "manufacturer warranty [1]. ",
                "Batteries are covered for 12 months [1].",
            ),
            event_delay_s=0.15,
        )
        page.evaluate(RECORD_STREAM)
        response = ask(page, "What is the robot vacuum warranty?")
        assert response.headers["content-type"].startswith("text/event-stream")
        answer = last_answer(page)
        expect(answer.get_by_role("button", name="Helpful", exact=True)).to_be_visible()
        expect(answer).to_contain_text("Batteries are covered for 12 months")
        expect(answer.locator("strong")).to_have_text("2-year")
        frames = page.evaluate("window.__frames")
        final = answer.locator("p").first.text_content()
        partial = [f for f in frames if f and len(f) < len(final)]
        assert len(set(partial)) >= 2 and partial[0].startswith("Every Botwright"), frames
        source = answer.get_by_role("button", name=re.compile(r"^Returns and Warranty Policy, p\. 2$"))
        expect(source).to_be_visible()
        source.hover()
        expect(answer.locator(".snippet").first).to_contain_text("2-year manufacturer warranty")

        # 2. Thumbs up, then an optional comment.
        answer.get_by_role("button", name="Helpful", exact=True).click()
        expect(answer.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        answer.get_by_label("Tell us more (optional)").fill("Clear and quick")
        answer.get_by_role("button", name="Send feedback").click()
        expect(answer.get_by_text("Thanks for your feedback!")).to_be_visible()
        rated = Message.objects.for_org(bot.org).get(role="assistant")
        assert (rated.rating, rated.feedback_comment) == ("up", "Clear and quick")

        # 3. A reload shows the history, rating included, and the conversation continues.
        page.reload()
        dialog = open_chat(page, bot.name)
        expect(dialog.locator(".msg.user")).to_have_text(["What is the robot vacuum warranty?"])
        history = last_answer(page)
        expect(history).to_contain_text("Batteries are covered for 12 months")
        expect(history.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(history.get_by_role("button", name=re.compile("Returns and Warranty Policy"))).to_be_visible()
        expect(dialog.get_by_role("group", name="Suggested questions")).to_be_hidden()
        gemini.enqueue_stream(
            stream_of("Yes: the battery is covered ", "for **12 months** [1]."), event_delay_s=0.05
        )
        ask(page, "Is the battery covered by the warranty?")
        expect(last_answer(page)).to_contain_text("the battery is covered for 12 months")
        conversation = Conversation.objects.for_org(bot.org).get()
        assert conversation.channel == "public" and conversation.message_count == 4

        # 4. Off-topic: the bot's fallback, without a model call.
        ask(page, "Recommend a pizza topping please")
        expect(last_answer(page)).to_have_text(re.compile(re.escape(bot.fallback_message)))
        expect(last_answer(page)).to_have_class(re.compile(r"\bfallback\b"))
        assert len(gemini.requests) == 2 and gemini.pending == 0

        # 5. "New conversation" starts over; a suggested question starts the new one.
        dialog.get_by_role("button", name="New conversation").click()
        expect(dialog.locator(".msg")).to_have_count(1)
        gemini.enqueue_stream(stream_of("The office opens at 08:30 [1]."))
        with page.expect_response(lambda r: r.url.endswith("/chat/")) as started:
            dialog.get_by_role("button", name="When does the office open?").click()
        started.value.finished()
        expect(last_answer(page)).to_contain_text("The office opens at 08:30")
        assert Conversation.objects.for_org(bot.org).count() == 2
    assert browsing.problems == []


def test_a_site_that_is_not_allowed_is_told_politely_and_the_server_logs_a_403(
    browsing, live_server, widget_bot, caplog
):
    caplog.set_level(logging.INFO, logger="botwright.request")
    page, bot = browsing.page, widget_bot
    with customer_site(page, bot, live_server, allowed=False):
        page.get_by_role("button", name="Open chat with Chat").click()
        expect(page.get_by_text("This chat isn't available on this site.")).to_be_visible()
        expect(page.get_by_label("Your question")).to_be_disabled()
        # Only our words on screen: no status code, no JSON.
        panel_text = page.locator("botwright-chat .panel").inner_text()
        assert "403" not in panel_text and "{" not in panel_text
    refused = [
        r
        for r in caplog.records
        if r.name == "botwright.request"
        and r.status == 403
        and r.path == f"/api/public/bots/{bot.public_id}/"
    ]
    assert refused, [r.getMessage() for r in caplog.records]
    assert Message.objects.for_org(bot.org).count() == 0


def test_markup_in_a_greeting_and_a_document_renders_as_text(
    browsing, live_server, widget_bot, owner, gemini
):
    from documents.services import document_process, document_upload

    page, bot = browsing.page, widget_bot
    bot.greeting = (
        'Hello <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> '
        "[a trap](javascript:window.__xss=3) and [our site](https://example.com/help)"
    )
    bot.save()
    hostile = (
        'Parcels to Narnia ship from Leeds <img src=x onerror="window.__xss=4"> within two days '
        "<script>window.__xss=5</script> by courier.\n"
    )
    document, _ = document_upload(
        bot=bot, user=owner, data=hostile.encode(), filename="narnia.txt", enqueue=False
    )
    document_process(document_id=str(document.pk), org_id=str(bot.org_id))
    with customer_site(page, bot, live_server):
        dialog = open_chat(page, bot.name)
        greeting = dialog.locator(".greeting")
        expect(greeting).to_contain_text(
            '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>'
        )
        expect(greeting).to_contain_text("a trap")  # the javascript: link is text, not a link
        link = greeting.get_by_role("link", name="our site")
        expect(link).to_have_attribute("href", "https://example.com/help")
        expect(link).to_have_attribute("rel", "noopener nofollow")
        expect(greeting.get_by_role("link")).to_have_count(1)

        # The offline answerer quotes prose only, never markup; a model can echo anything, so the
        # answer's markup comes from the (fake) Gemini model, the citation's from the document.
        gemini.enqueue_stream(
            stream_of('Parcels ship from Leeds <img src=x onerror="window.__xss=4"> ', "within two days [1].")
        )
        ask(page, "When do parcels to Narnia ship?")
        answer = last_answer(page)
        expect(answer).to_contain_text('<img src=x onerror="window.__xss=4">')
        answer.get_by_role("button", name=re.compile("narnia")).click()
        expect(answer.locator(".snippet").first).to_contain_text("<script>window.__xss=5</script>")
        found = page.evaluate(
            """() => {
              const root = document.querySelector("botwright-chat").shadowRoot;
              return {img: root.querySelectorAll("img").length,
                      script: root.querySelectorAll("script").length,
                      xss: window.__xss === undefined ? null : window.__xss};
            }"""
        )
        assert found == {"img": 0, "script": 0, "xss": None}


def test_keyboard_focus_trap_small_screens_and_reduced_motion(browser, live_server, widget_bot):
    context = browser.new_context(viewport={"width": 400, "height": 720}, reduced_motion="reduce")
    page = context.new_page()
    page.set_default_timeout(15_000)
    bot = widget_bot
    try:
        with customer_site(page, bot, live_server):
            launcher = page.get_by_role("button", name=f"Open chat with {bot.name}")
            launcher.focus()
            page.keyboard.press("Enter")
            dialog = page.get_by_role("dialog", name=bot.name)
            expect(dialog).to_be_visible()
            expect(page.get_by_label("Your question")).to_be_focused()
            # Under 480 px the panel fills the screen; reduced motion turns its animation off.
            box = dialog.bounding_box()
            assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 400, 720)
            assert dialog.evaluate("el => getComputedStyle(el).animationName") == "none"
            # Tab and Shift+Tab never leave the open panel.
            inside = "el => el.getRootNode().host && el.closest('.panel') !== null"
            for key in ["Tab"] * 8 + ["Shift+Tab"] * 8:
                page.keyboard.press(key)
                active = page.evaluate_handle(
                    "() => document.querySelector('botwright-chat').shadowRoot.activeElement"
                )
                assert active.evaluate(f"el => !!el && ({inside})(el)"), key
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
            expect(launcher).to_be_focused()
            expect(launcher).to_have_attribute("aria-expanded", "false")
    finally:
        context.close()


def test_rate_limits_and_oversized_requests_are_friendly_messages(
    browsing, live_server, widget_bot, settings
):
    page, bot = browsing.page, widget_bot
    settings.PUBLIC_CHAT_RATE_VISITOR = "1/hour"
    with customer_site(page, bot, live_server):
        dialog = open_chat(page, bot.name)
        ask(page, "When does the office open?")
        expect(last_answer(page)).to_contain_text("08:30")
        limited = ask(page, "And when does it close?")
        assert limited.status == 429
        notice = dialog.get_by_role("status").filter(has_text="Please wait")
        expect(notice).to_contain_text(
            re.compile(r"You're sending messages quickly\. Please wait \d+ seconds?\.")
        )
        expect(dialog.get_by_role("button", name="Send")).to_be_disabled()

        settings.PUBLIC_CHAT_RATE_VISITOR = "100/minute"
        settings.REQUEST_MAX_BODY_BYTES = 300
        page.reload()
        dialog = open_chat(page, bot.name)
        # The history (the refused question was never recorded), before asking on.
        expect(dialog.locator(".msg.user")).to_have_count(1)
        expect(last_answer(page)).to_contain_text("08:30")
        too_big = ask(page, "office hours " * 40)
        assert too_big.status == 413
        expect(last_answer(page)).to_have_text(
            "That message is too long to send. Please shorten it and try again."
        )
        text = dialog.inner_text()
        assert "413" not in text and "limit_bytes" not in text and "{" not in text


def test_an_inactive_bot_shows_no_widget_and_a_lost_conversation_starts_anew(
    browsing, live_server, widget_bot
):
    page, bot = browsing.page, widget_bot
    with customer_site(page, bot, live_server):
        open_chat(page, bot.name)
        ask(page, "When does the office open?")
        expect(last_answer(page)).to_contain_text("08:30")
        first = Conversation.objects.for_org(bot.org).get()
        # The conversation disappears (an operator deleted it): the next question starts a new one.
        first.delete()
        ask(page, "When does the office close?")
        expect(last_answer(page)).to_contain_text("18:00")
        assert Conversation.objects.for_org(bot.org).count() == 1
        # The only complaint is the browser's own log line for the refused continuation.
        assert len(browsing.problems) == 1 and "status of 404" in browsing.problems[0], browsing.problems

        bot.is_active = False
        bot.save()
        page.reload()
        page.wait_for_load_state("networkidle")
        expect(page.locator("botwright-chat")).to_have_count(0)
