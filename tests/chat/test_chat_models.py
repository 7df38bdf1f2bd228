"""Chat through the real adapters: Gemini (against a local fake Gemini server) and the real MiniLM."""

from __future__ import annotations

import pytest

from chat.models import Message
from chat.services import chat_answer
from documents.samples import DEMO_PDF_PAGES, DEMO_PDF_TITLE, build_pdf
from documents.services import document_process, document_upload
from integrations.embeddings import get_embedder
from tests.integrations.gemini_fake_server import FakeGeminiServer, blocked_prompt_response, text_response

from .conftest import chat_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def gemini(settings, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeGeminiServer() as server:
        settings.LLM_PROVIDER = "gemini"
        settings.GEMINI_API_KEY = "test-key-123"
        settings.GEMINI_MODEL = "gemini-2.5-flash"
        settings.GEMINI_BASE_URL = server.url
        yield server


def test_builder_chat_through_gemini_records_usage_and_citations(kb_bot, viewer, client_for, gemini):
    gemini.enqueue(
        200, text_response("The office opens at 08:30 [1].", prompt_tokens=321, completion_tokens=9)
    )
    response = client_for(viewer).post(
        chat_url(kb_bot), {"message": "When does the office open?"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["answer"] == "The office opens at 08:30 [1]."
    assert body["usage"] == {"prompt_tokens": 321, "completion_tokens": 9}
    assert "08:30" in body["sources"][0]["snippet"]
    request = gemini.requests[0]
    assert request.headers.get("x-goog-api-key") == "test-key-123"
    assert "gemini-2.5-flash:generateContent" in request.path
    sent = request.json
    assert sent["generationConfig"]["temperature"] == kb_bot.temperature
    assert "08:30" in sent["contents"][-1]["parts"][0]["text"]
    assert kb_bot.system_prompt in sent["systemInstruction"]["parts"][0]["text"]


def test_a_bots_own_model_name_is_used(kb_bot, viewer, client_for, gemini, settings):
    settings.GEMINI_ALLOWED_MODELS = ["gemini-2.5-flash", "gemini-2.5-pro"]
    kb_bot.model_name = "gemini-2.5-pro"
    kb_bot.save()
    gemini.enqueue(200, text_response("08:30 [1]."))
    client_for(viewer).post(chat_url(kb_bot), {"message": "When does the office open?"}, format="json")
    assert "gemini-2.5-pro:generateContent" in gemini.requests[0].path


def test_a_model_the_deployment_no_longer_allows_is_never_called(
    kb_bot, viewer, client_for, gemini, settings
):
    # Saved while allowed (or imported around the check), then the operator narrowed the allow-list:
    # the operator's key must not pay for it, so the bot answers with the deployment's default model.
    kb_bot.model_name = "gemini-2.5-pro"
    kb_bot.save()
    settings.GEMINI_ALLOWED_MODELS = ["gemini-2.5-flash"]
    gemini.enqueue(200, text_response("08:30 [1]."))
    response = client_for(viewer).post(
        chat_url(kb_bot), {"message": "When does the office open?"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert [r.path for r in gemini.requests] == ["/v1beta/models/gemini-2.5-flash:generateContent"]


def test_gemini_safety_block_is_503_and_recorded(kb_bot, viewer, client_for, gemini):
    gemini.enqueue(200, blocked_prompt_response("SAFETY"))
    response = client_for(viewer).post(
        chat_url(kb_bot), {"message": "When does the office open?"}, format="json"
    )
    assert response.status_code == 503
    assert "SAFETY" in response.json()["detail"]
    message = Message.objects.for_org(kb_bot.org).get(pk=response.json()["message_id"])
    assert message.unanswered and "SAFETY" in message.error


@pytest.mark.slow
def test_grounding_with_the_real_model_cites_the_right_document_and_page(bot, editor):
    minilm = get_embedder("minilm")
    pdf, _ = document_upload(
        bot=bot,
        user=editor,
        data=build_pdf(DEMO_PDF_PAGES, title=DEMO_PDF_TITLE),
        filename="policy.pdf",
        enqueue=False,
    )
    notes, _ = document_upload(
        bot=bot,
        user=editor,
        filename="canteen.md",
        enqueue=False,
        data=b"# Canteen\n\nThe staff canteen serves lunch from 12:00 to 14:00.\n",
    )
    for document in (pdf, notes):
        assert (
            document_process(document_id=str(document.pk), org_id=str(bot.org_id), embedder=minilm).status
            == "ready"
        )

    result = chat_answer(bot=bot, message="How long is my robot hoover guaranteed for?", embedder=minilm)
    assert result.message.unanswered is False
    assert result.sources[0]["document_id"] == str(pdf.pk) and result.sources[0]["pages"] == "2"
    assert "2-year" in result.message.content and "[1]" in result.message.content

    lunch = chat_answer(bot=bot, message="When can I get lunch at work?", embedder=minilm)
    assert lunch.sources[0]["document_id"] == str(notes.pk)

    off_topic = chat_answer(bot=bot, message="Who won the 1998 football world cup?", embedder=minilm)
    assert off_topic.message.unanswered is True and off_topic.message.content == bot.fallback_message
