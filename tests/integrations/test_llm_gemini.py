"""GeminiChatModel against a local fake Gemini server: real SDK request building and parsing."""

from __future__ import annotations

import pytest
from google.genai import types

from chat.prompts import build_prompt
from integrations.llm.base import Generation, ModelRefused, ModelUnavailable, Passage, Turn
from integrations.llm.gemini import GeminiChatModel
from tests.integrations.gemini_fake_server import (
    FakeGeminiServer,
    blocked_prompt_response,
    error_body,
    rate_limited_body,
    text_response,
)

API_KEY = "test-key-123"

PASSAGES = [
    Passage(
        chunk_id="c1",
        document_id="d1",
        title="Leave policy",
        page_start=2,
        page_end=3,
        heading_path=("HR",),
        text="Employees get 25 days of annual leave.",
        score=0.9,
    ),
    Passage(
        chunk_id="c2",
        document_id="d2",
        title="Expenses",
        page_start=None,
        page_end=None,
        heading_path=(),
        text="Receipts are required above 25 euros.",
        score=0.7,
    ),
]


@pytest.fixture
def server():
    with FakeGeminiServer() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_model(server: FakeGeminiServer, sleeps: list[float], **kwargs) -> GeminiChatModel:
    # trust_env=False: a proxy configured in the environment must not intercept 127.0.0.1.
    options = types.HttpOptions(base_url=server.url, client_args={"trust_env": False})
    kwargs = {"model": "gemini-2.5-flash", "timeout_s": 20.0, **kwargs}
    return GeminiChatModel(API_KEY, http_options=options, sleep=sleeps.append, **kwargs)


def make_prompt():
    return build_prompt(
        system_prompt="You are the Acme assistant.",
        passages=PASSAGES,
        history=[Turn(role="user", content="Hello"), Turn(role="assistant", content="Hi! Ask me anything.")],
        question="How many leave days do I get?",
    )


def generate(model: GeminiChatModel, **kwargs) -> Generation:
    return model.generate(
        prompt=make_prompt(), passages=PASSAGES, temperature=kwargs.pop("temperature", 0.2), **kwargs
    )


def test_generate_sends_system_instruction_roles_config_and_api_key(server, sleeps):
    server.enqueue(200, text_response("You get 25 days [1]."))
    generate(make_model(server, sleeps), temperature=0.3, max_output_tokens=256)

    [request] = server.requests
    assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == API_KEY
    body = request.json
    assert "You are the Acme assistant." in body["systemInstruction"]["parts"][0]["text"]
    assert "Answer only from the numbered passages" in body["systemInstruction"]["parts"][0]["text"]
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][0]["parts"][0]["text"] == "Hello"
    final_text = body["contents"][-1]["parts"][0]["text"]
    assert '<passage id="1" title="Leave policy" pages="2-3" section="HR">' in final_text
    assert final_text.endswith("<question>\nHow many leave days do I get?\n</question>")
    assert body["generationConfig"]["temperature"] == 0.3
    assert body["generationConfig"]["maxOutputTokens"] == 256


def test_flash_models_are_asked_not_to_think_and_others_keep_their_default(server, sleeps):
    server.enqueue(200, text_response("A [1]"))
    server.enqueue(200, text_response("A [1]"))
    generate(make_model(server, sleeps))
    generate(make_model(server, sleeps, model="gemini-2.5-pro"))

    flash_config, pro_config = (r.json["generationConfig"] for r in server.requests)
    assert list(flash_config["thinkingConfig"].values()) == [0]
    assert "thinkingConfig" not in pro_config
    assert server.requests[1].path == "/v1beta/models/gemini-2.5-pro:generateContent"


def test_generate_parses_text_usage_model_and_citations(server, sleeps):
    server.enqueue(
        200,
        text_response(
            "You get 25 days [1]; receipts [2][1] and not [7].",
            prompt_tokens=321,
            completion_tokens=17,
            model_version="gemini-2.5-flash-001",
        ),
    )
    generation = generate(make_model(server, sleeps))

    assert generation.text == "You get 25 days [1]; receipts [2][1] and not [7]."
    assert generation.prompt_tokens == 321
    assert generation.completion_tokens == 17
    assert generation.model == "gemini-2.5-flash-001"
    assert generation.finish_reason == "STOP"
    assert generation.cited == (1, 2)
    assert sleeps == []


def test_rate_limit_then_success_retries_once_with_backoff(server, sleeps):
    server.enqueue(429, rate_limited_body())
    server.enqueue(200, text_response("25 days [1]."))
    generation = generate(make_model(server, sleeps, backoff_s=0.5))

    assert generation.text == "25 days [1]."
    assert len(server.requests) == 2
    assert sleeps == [0.5]


def test_rate_limit_on_every_attempt_raises_model_unavailable(server, sleeps):
    for _ in range(4):
        server.enqueue(429, rate_limited_body())
    model = make_model(server, sleeps, max_retries=3, backoff_s=0.5)

    with pytest.raises(ModelUnavailable) as caught:
        generate(model)

    assert type(caught.value) is ModelUnavailable
    assert len(server.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert "quota/rate limit" in caught.value.reason
    assert "after 4 attempt(s)" in caught.value.reason
    assert "429" not in caught.value.public_message
    assert "try again" in caught.value.public_message


def test_server_error_is_retried(server, sleeps):
    server.enqueue(503, error_body(503, "UNAVAILABLE", "The model is overloaded."))
    server.enqueue(500, error_body(500, "INTERNAL", "Internal error."))
    server.enqueue(200, text_response("OK [2]"))
    generation = generate(make_model(server, sleeps))

    assert generation.cited == (2,)
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_server_errors_raise_model_unavailable(server, sleeps):
    for _ in range(3):
        server.enqueue(503, error_body(503, "UNAVAILABLE", "The model is overloaded."))

    with pytest.raises(ModelUnavailable, match="server error 503"):
        generate(make_model(server, sleeps, max_retries=2))
    assert len(server.requests) == 3


def test_retry_info_delay_from_the_server_is_honoured(server, sleeps):
    server.enqueue(429, rate_limited_body(retry_delay="3s"))
    server.enqueue(429, rate_limited_body(), headers={"Retry-After": "2"})
    server.enqueue(200, text_response("OK [1]"))
    generate(make_model(server, sleeps, backoff_s=0.5))

    assert sleeps == [3.0, 2.0]


def test_requested_delay_beyond_the_limit_gives_up_at_once(server, sleeps):
    server.enqueue(429, rate_limited_body(retry_delay="45s"))

    with pytest.raises(ModelUnavailable, match="retry after 45s"):
        generate(make_model(server, sleeps, max_retry_after_s=10))
    assert len(server.requests) == 1
    assert sleeps == []


def test_daily_quota_exhaustion_is_not_retried(server, sleeps):
    server.enqueue(429, rate_limited_body(daily=True))

    with pytest.raises(ModelUnavailable, match="daily quota exhausted"):
        generate(make_model(server, sleeps))
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            400,
            error_body(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
            ),
        ),
        (403, error_body(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")),
    ],
)
def test_rejected_api_key_raises_operator_facing_reason_without_retry(server, sleeps, status, body):
    server.enqueue(status, body)

    with pytest.raises(ModelUnavailable) as caught:
        generate(make_model(server, sleeps))

    assert "GEMINI_API_KEY" in caught.value.reason
    assert "GEMINI_API_KEY" not in caught.value.public_message
    assert len(server.requests) == 1


def test_unknown_model_names_the_setting(server, sleeps):
    server.enqueue(404, error_body(404, "NOT_FOUND", "models/gemini-9 is not found."))

    with pytest.raises(ModelUnavailable, match="GEMINI_MODEL"):
        generate(make_model(server, sleeps, model="gemini-9"))


def test_timeout_raises_model_unavailable(server, sleeps):
    server.enqueue(200, text_response("too late"), delay_s=2.0)

    with pytest.raises(ModelUnavailable, match="did not answer within 0.2s"):
        generate(make_model(server, sleeps, timeout_s=0.2))
    assert len(server.requests) == 1


def test_blocked_prompt_raises_model_refused(server, sleeps):
    server.enqueue(200, blocked_prompt_response("PROHIBITED_CONTENT"))

    with pytest.raises(ModelRefused) as caught:
        generate(make_model(server, sleeps))

    assert "PROHIBITED_CONTENT" in caught.value.reason
    assert caught.value.public_message == "Sorry, I can't help with that request."
    assert len(server.requests) == 1


def test_safety_finish_reason_raises_model_refused(server, sleeps):
    server.enqueue(200, text_response("", finish_reason="SAFETY"))

    with pytest.raises(ModelRefused, match="SAFETY"):
        generate(make_model(server, sleeps))


def test_empty_candidates_raise_model_unavailable_not_refused(server, sleeps):
    server.enqueue(200, {"candidates": [], "usageMetadata": {"promptTokenCount": 5}})

    with pytest.raises(ModelUnavailable) as caught:
        generate(make_model(server, sleeps))
    assert not isinstance(caught.value, ModelRefused)


def test_empty_answer_text_raises_model_unavailable(server, sleeps):
    server.enqueue(200, text_response("", finish_reason="MAX_TOKENS"))

    with pytest.raises(ModelUnavailable, match="MAX_TOKENS"):
        generate(make_model(server, sleeps))


def stream(model: GeminiChatModel) -> list[str | Generation]:
    return list(model.stream(prompt=make_prompt(), passages=PASSAGES, temperature=0.1))


def test_stream_yields_deltas_then_final_generation_with_usage(server, sleeps):
    server.enqueue_stream(
        [
            text_response("You get ", finish_reason=None, prompt_tokens=300, completion_tokens=2),
            text_response("25 days ", finish_reason=None, prompt_tokens=300, completion_tokens=4),
            text_response("[1].", prompt_tokens=300, completion_tokens=6),
        ]
    )
    items = stream(make_model(server, sleeps))

    assert items[:3] == ["You get ", "25 days ", "[1]."]
    final = items[3]
    assert isinstance(final, Generation)
    assert final.text == "You get 25 days [1]."
    assert (final.prompt_tokens, final.completion_tokens) == (300, 6)
    assert final.cited == (1,)
    assert final.finish_reason == "STOP"
    [request] = server.requests
    assert request.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert request.query == {"alt": ["sse"]}
    assert request.json["generationConfig"]["temperature"] == 0.1
    assert request.headers["x-goog-api-key"] == API_KEY


def test_stream_retries_when_opening_fails(server, sleeps):
    server.enqueue(503, error_body(503, "UNAVAILABLE", "Overloaded."))
    server.enqueue_stream([text_response("Fine [2]")])
    items = stream(make_model(server, sleeps))

    assert items[0] == "Fine [2]"
    assert items[-1].cited == (2,)
    assert len(server.requests) == 2
    assert sleeps == [0.5]


def test_stream_safety_block_mid_answer_raises_model_refused(server, sleeps):
    server.enqueue_stream(
        [
            text_response("Partial ", finish_reason=None),
            text_response("", finish_reason="SAFETY"),
        ]
    )
    received: list[str | Generation] = []

    with pytest.raises(ModelRefused):
        for item in make_model(server, sleeps).stream(
            prompt=make_prompt(), passages=PASSAGES, temperature=0.1
        ):
            received.append(item)
    assert received == ["Partial "]


def test_stream_blocked_prompt_raises_model_refused(server, sleeps):
    server.enqueue_stream([blocked_prompt_response("SAFETY")])

    with pytest.raises(ModelRefused):
        stream(make_model(server, sleeps))


def _django_configured() -> bool:
    from django.conf import settings

    return settings.configured


needs_django = pytest.mark.skipif(not _django_configured(), reason="needs Django settings (pytest-django)")


@pytest.fixture
def fresh_models():
    from integrations.llm import clear_chat_model_cache

    clear_chat_model_cache()
    yield
    clear_chat_model_cache()


@needs_django
def test_get_chat_model_defaults_to_extractive_without_a_key(fresh_models):
    from django.test import override_settings

    from integrations.llm import get_chat_model
    from integrations.llm.extractive import ExtractiveChatModel

    with override_settings(GEMINI_API_KEY="", LLM_PROVIDER=""):
        model = get_chat_model()
        assert isinstance(model, ExtractiveChatModel)
        assert get_chat_model() is model  # cached per process


@needs_django
def test_get_chat_model_uses_gemini_when_a_key_is_set(fresh_models):
    from django.test import override_settings

    from integrations.llm import get_chat_model

    with override_settings(
        GEMINI_API_KEY="k", LLM_PROVIDER="", GEMINI_MODEL="gemini-2.5-flash-lite", GEMINI_TIMEOUT_S=12
    ):
        model = get_chat_model()
    assert isinstance(model, GeminiChatModel)
    assert model.name == "gemini-2.5-flash-lite"
    assert model.timeout_s == 12


@needs_django
def test_get_chat_model_explicit_gemini_without_key_explains_the_fix(fresh_models):
    from django.test import override_settings

    from integrations.llm import get_chat_model

    with override_settings(GEMINI_API_KEY="", LLM_PROVIDER="gemini"), pytest.raises(ValueError) as caught:
        get_chat_model()
    assert "GEMINI_API_KEY" in str(caught.value)
    assert "extractive" in str(caught.value)


def test_build_chat_model_rejects_unknown_provider():
    from integrations.llm import build_chat_model

    with pytest.raises(ValueError, match="Unknown LLM provider 'gpt'"):
        build_chat_model(provider="gpt")
