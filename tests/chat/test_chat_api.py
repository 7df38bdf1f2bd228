"""Builder chat and search: grounding, fallback, history, conversations, feedback, errors."""

from __future__ import annotations

import pytest

from chat.models import Conversation, Message
from chat.services import chat_answer
from documents.services import document_process, document_upload
from integrations.llm import Generation, ModelRefused, ModelUnavailable
from integrations.llm.fake import FakeChatModel

from .conftest import chat_url

pytestmark = pytest.mark.django_db


def test_search_returns_ranked_passages_with_scores(kb_bot, viewer, client_for):
    response = client_for(viewer).post(
        chat_url(kb_bot, "search/"), {"query": "office opens closes"}, format="json"
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert "08:30" in results[0]["text"]
    assert results[0]["title"] == "faq" and results[0]["heading_path"] == ["Opening hours"]
    assert results[0]["score"] >= results[-1]["score"]


def test_chat_answers_from_the_knowledge_base_with_sources(kb_bot, viewer, client_for):
    response = client_for(viewer).post(
        chat_url(kb_bot), {"message": "When does the office open?"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "08:30" in body["answer"]
    assert body["unanswered"] is False
    assert body["sources"][0]["title"] == "faq" and "08:30" in body["sources"][0]["snippet"]
    assert "[1]" in body["answer"]  # citations point at the sources list
    assert body["usage"]["prompt_tokens"] > 0 and body["latency_ms"] >= 0
    message = Message.objects.for_org(kb_bot.org).get(pk=body["message_id"])
    assert message.model_name == "extractive" and message.sources == body["sources"]
    conversation = Conversation.objects.for_org(kb_bot.org).get(pk=body["conversation_id"])
    assert (
        conversation.channel == "builder" and conversation.user == viewer and conversation.message_count == 2
    )


def test_nothing_relevant_answers_the_fallback_without_calling_the_model(kb_bot, viewer):
    model = FakeChatModel()
    result = chat_answer(bot=kb_bot, message="zebra quantum saxophone", model=model, user=viewer)
    assert model.calls == []
    assert result.message.content == kb_bot.fallback_message
    assert result.message.unanswered is True and result.sources == []


def test_an_empty_knowledge_base_answers_the_fallback(bot, viewer, client_for):
    body = client_for(viewer).post(chat_url(bot), {"message": "Anything?"}, format="json").json()
    assert body["answer"] == bot.fallback_message and body["unanswered"] is True


def test_history_is_carried_into_the_prompt(kb_bot, viewer):
    model = FakeChatModel(["Refunds take 14 days [1].", "At 08:30 [1]."])
    first = chat_answer(bot=kb_bot, message="When are refunds issued?", model=model, user=viewer)
    chat_answer(
        bot=kb_bot,
        message="And when does the office open?",
        conversation=first.conversation,
        model=model,
        user=viewer,
    )
    prompt = model.calls[1].prompt
    roles = [t.role for t in prompt.contents]
    assert roles == ["user", "assistant", "user"]
    assert prompt.contents[0].content == "When are refunds issued?"
    assert "Refunds take 14 days" in prompt.contents[1].content
    assert "And when does the office open?" in prompt.contents[-1].content
    assert kb_bot.system_prompt in prompt.system


def test_prompt_carries_the_passages_and_grounding_rules(kb_bot, viewer):
    model = FakeChatModel(["At 08:30 [1]."])
    chat_answer(bot=kb_bot, message="When does the office open?", model=model, user=viewer)
    call = model.calls[0]
    assert call.temperature == kb_bot.temperature
    assert any("08:30" in p.text for p in call.passages)
    final = call.prompt.contents[-1].content
    assert "<passage" in final and "08:30" in final
    assert "instructions" in call.prompt.system.lower()


def test_answer_citations_point_into_the_sources_list(kb_bot, owner, viewer):
    document, _ = document_upload(
        bot=kb_bot,
        user=owner,
        data=b"# Warranty\n\nThe office repairs every robot under warranty for two years.",
        filename="warranty.md",
        enqueue=False,
    )
    document_process(document_id=str(document.pk), org_id=str(kb_bot.org_id))
    # Passage 2 is cited first, so it becomes sources[0] and the answer's [2] becomes [1]; the
    # group [1, 2] is renumbered member by member (the bug was leaving groups untouched).
    model = FakeChatModel(["Opens at 08:30 [2]. Refunds in 14 days [1, 2]. Nothing [7]."])
    result = chat_answer(bot=kb_bot, message="office warranty robot opens", model=model, user=viewer)
    passages = model.calls[0].passages
    assert len(passages) >= 2
    assert result.message.content == "Opens at 08:30 [1]. Refunds in 14 days [2, 1]. Nothing."
    assert [s["chunk_id"] for s in result.sources] == [passages[1].chunk_id, passages[0].chunk_id]


def test_model_failure_is_503_with_a_message_and_the_exchange_is_recorded(
    kb_bot, viewer, client_for, monkeypatch
):
    failing = FakeChatModel([ModelUnavailable("Gemini quota exhausted (429)")])
    monkeypatch.setattr("chat.services.get_chat_model", lambda **kw: failing)
    response = client_for(viewer).post(
        chat_url(kb_bot), {"message": "When does the office open?"}, format="json"
    )
    assert response.status_code == 503
    assert "quota" in response.json()["detail"]
    message = Message.objects.for_org(kb_bot.org).get(pk=response.json()["message_id"])
    assert message.unanswered and "quota" in message.error


def test_safety_block_is_503_with_the_reason(kb_bot, viewer, client_for, monkeypatch):
    refusing = FakeChatModel(
        [ModelRefused("prompt blocked: SAFETY", public_message="Sorry, I can't help with that.")]
    )
    monkeypatch.setattr("chat.services.get_chat_model", lambda **kw: refusing)
    response = client_for(viewer).post(
        chat_url(kb_bot), {"message": "When does the office open?"}, format="json"
    )
    assert response.status_code == 503 and "SAFETY" in response.json()["detail"]


def test_streaming_sends_tokens_then_a_final_event_with_sources(kb_bot, viewer, client_for):
    response = client_for(viewer).post(
        chat_url(kb_bot), {"message": "When does the office open?", "stream": True}, format="json"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    body = b"".join(response.streaming_content).decode()
    events = [block.split("\n")[0].removeprefix("event: ") for block in body.strip().split("\n\n")]
    assert events[0] == "token" and events[-1] == "done"
    assert '"sources"' in body.split("event: done")[1] and "08:30" in body


def test_bad_messages_are_400(kb_bot, viewer, client_for, settings):
    client = client_for(viewer)
    assert client.post(chat_url(kb_bot), {"message": "   "}, format="json").status_code == 400
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    response = client.post(chat_url(kb_bot), {"message": "x" * 11}, format="json")
    assert response.status_code == 400 and "limit is 10" in str(response.json())
    assert (
        client.post(chat_url(kb_bot), {"message": "hi", "temperature": 2}, format="json").status_code == 400
    )
    assert Message.objects.for_org(kb_bot.org).count() == 0


def test_conversations_list_filters_and_detail(kb_bot, viewer, client_for):
    client = client_for(viewer)
    answered = client.post(chat_url(kb_bot), {"message": "When does the office open?"}, format="json").json()
    client.post(chat_url(kb_bot), {"message": "zebra quantum saxophone"}, format="json")
    listing = client.get(chat_url(kb_bot, "conversations/")).json()
    assert listing["count"] == 2
    unanswered = client.get(chat_url(kb_bot, "conversations/") + "?unanswered=true").json()
    assert unanswered["count"] == 1 and unanswered["results"][0]["title"] == "zebra quantum saxophone"
    assert client.get(chat_url(kb_bot, "conversations/") + "?channel=public").json()["count"] == 0
    feedback = client.post(
        chat_url(kb_bot, f"messages/{answered['message_id']}/feedback/"),
        {"rating": "down", "comment": "too short"},
        format="json",
    )
    assert feedback.status_code == 200 and feedback.json()["rating"] == "down"
    rated = client.get(chat_url(kb_bot, "conversations/") + "?rating=down").json()
    assert [c["id"] for c in rated["results"]] == [answered["conversation_id"]]
    detail = client.get(chat_url(kb_bot, f"conversations/{answered['conversation_id']}/")).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert detail["messages"][1]["sources"][0]["title"] == "faq"


def test_feedback_on_a_question_is_400(kb_bot, viewer, client_for):
    result = chat_answer(bot=kb_bot, message="When does the office open?", user=viewer)
    question = Message.objects.for_org(kb_bot.org).get(conversation=result.conversation, role="user")
    response = client_for(viewer).post(
        chat_url(kb_bot, f"messages/{question.pk}/feedback/"), {"rating": "up"}, format="json"
    )
    assert response.status_code == 400


def test_other_orgs_get_404_on_every_chat_endpoint(kb_bot, viewer, other_org, client_for):
    result = chat_answer(bot=kb_bot, message="When does the office open?", user=viewer)
    stranger = client_for(other_org.owner)
    conv, msg = result.conversation.pk, result.message.pk
    probes = [
        ("post", chat_url(kb_bot, "search/"), {"query": "office"}),
        ("post", chat_url(kb_bot), {"message": "hi"}),
        ("get", chat_url(kb_bot, "conversations/"), None),
        ("get", chat_url(kb_bot, f"conversations/{conv}/"), None),
        ("post", chat_url(kb_bot, f"messages/{msg}/feedback/"), {"rating": "up"}),
        ("get", chat_url(kb_bot, "api-keys/"), None),
        # Their own org and bot in the path, our conversation/message ids after it.
        ("get", chat_url(other_org.bot, f"conversations/{conv}/"), None),
        ("post", chat_url(other_org.bot, f"messages/{msg}/feedback/"), {"rating": "up"}),
        ("post", chat_url(other_org.bot), {"message": "hi", "conversation_id": str(conv)}),
    ]
    for method, url, body in probes:
        response = getattr(stranger, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert str(conv) not in response.content.decode()
    assert Message.objects.for_org(kb_bot.org).get(pk=msg).rating == ""


def test_an_answer_citing_no_passage_is_the_fallback_marked_unanswered(kb_bot, viewer):
    plain = Generation(
        text="It opens early.",
        prompt_tokens=5,
        completion_tokens=3,
        model="m",
        finish_reason="STOP",
        cited=(),
    )
    result = chat_answer(
        bot=kb_bot, message="When does the office open?", model=FakeChatModel([plain]), user=viewer
    )
    assert result.message.unanswered is True and result.sources == []
    assert result.message.content == kb_bot.fallback_message
    assert result.message.model_name == "m" and result.message.prompt_tokens == 5  # the call was paid for


@pytest.mark.parametrize(
    "answer",
    [
        "I don't know based on the available documents.",
        "The passages do not mention when the office opens.",
        "I'm sorry, but I couldn't find that in the documents [1].",
    ],
)
def test_an_answer_saying_it_does_not_know_is_the_fallback_marked_unanswered(kb_bot, viewer, answer):
    result = chat_answer(
        bot=kb_bot, message="When does the office open?", model=FakeChatModel([answer]), user=viewer
    )
    assert result.message.unanswered is True and result.sources == []
    assert result.message.content == kb_bot.fallback_message


def test_an_answer_that_admits_a_gap_but_answers_with_a_citation_counts_as_answered(kb_bot, viewer):
    answer = "The hours on public holidays are not mentioned, but the office opens at 08:30 [1]."
    result = chat_answer(
        bot=kb_bot, message="When does the office open?", model=FakeChatModel([answer]), user=viewer
    )
    assert result.message.unanswered is False and len(result.sources) == 1


def test_ask_command_prints_the_answer_and_sources(kb_bot, capsys):
    from django.core.management import CommandError, call_command

    call_command("ask", kb_bot.public_id, "When does the office open?")
    out = capsys.readouterr().out
    assert "08:30" in out and "[1] faq" in out
    call_command("ask", str(kb_bot.pk), "zebra quantum saxophone")
    assert "fallback answer" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No bot"):
        call_command("ask", "no-such-bot", "hi")


def test_the_schema_documents_what_chat_endpoints_send(db):
    """Regression (issue 9): the one-time key, chunk ids and visitor ids were missing from the schema,
    lists were documented as arrays and no error was documented."""
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    schema = json.loads(out.getvalue())
    components, paths = schema["components"]["schemas"], schema["paths"]

    def response_schema(path, method, status="200", media="application/json"):
        ref = paths[path][method]["responses"][status]["content"][media]["schema"]["$ref"]
        return components[ref.rsplit("/", 1)[1]]

    builder = "/api/orgs/{org_id}/bots/{bot_id}/"
    assert "key" in response_schema(builder + "api-keys/", "post", "201")["properties"]
    assert "chunk_id" in components["Source"]["properties"]
    results = response_schema(builder + "search/", "post")["properties"]["results"]["items"]["$ref"]
    assert "chunk_id" in components[results.rsplit("/", 1)[1]]["properties"]
    public_chat = "/api/public/bots/{public_id}/chat/"
    assert {"visitor_id", "conversation_id"} <= set(response_schema(public_chat, "post")["properties"])
    assert "text/event-stream" in paths[public_chat]["post"]["responses"]["200"]["content"]
    for listing in (builder + "conversations/", builder + "api-keys/"):
        assert {"count", "next", "previous", "results"} <= set(response_schema(listing, "get")["properties"])
    limited = paths[public_chat]["post"]["responses"]["429"]
    assert "Retry-After" in limited["headers"]
    assert limited["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    for path in paths:
        if "/chat/" in path or path.startswith("/api/public/"):
            for method, operation in paths[path].items():
                errors = [code for code in operation["responses"] if code.startswith(("4", "5"))]
                assert errors, (path, method)
