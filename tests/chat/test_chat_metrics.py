"""A chat turn and a document's processing each write one EMF line with the expected metrics."""

from __future__ import annotations

import logging

import pytest
from django.core.files.storage import default_storage

from chat.models import Channel
from chat.services import ChatUnavailable, chat_answer, chat_answer_stream
from documents.services import document_process, document_upload
from integrations.llm import ModelUnavailable
from integrations.llm.fake import FakeChatModel
from integrations.metrics import METRICS_LOGGER
from tests.emf import metric_names, parse_emf

from .conftest import FAQ

CHAT_METRICS = {"ChatLatency", "RetrievalLatency", "VectorBytesRead", "Unanswered", "Fallback", "ModelErrors"}
MODEL_METRICS = {"ModelLatency", "PromptTokens", "CompletionTokens"}


@pytest.fixture
def emf(settings, caplog):
    settings.METRICS_EMF, settings.METRICS_STAGE = True, "test"

    def lines() -> list[dict]:
        return [parse_emf(r.getMessage()) for r in caplog.records if r.name == METRICS_LOGGER]

    with caplog.at_level(logging.INFO, logger=METRICS_LOGGER):
        yield lines


def test_an_answered_turn_records_latencies_tokens_and_its_tenant_as_properties(kb_bot, emf):
    before = len(emf())
    result = chat_answer(
        bot=kb_bot, message="When are refunds issued?", channel=Channel.PUBLIC, model=FakeChatModel()
    )
    (line,) = emf()[before:]
    assert metric_names(line, ["stage", "channel"]) == CHAT_METRICS | MODEL_METRICS
    assert metric_names(line, ["stage"]) == {"Unanswered"}
    assert (line["stage"], line["channel"]) == ("test", "public")
    assert (line["org"], line["bot"], line["message"]) == (
        str(kb_bot.org_id),
        str(kb_bot.pk),
        str(result.message.pk),
    )
    assert (line["Unanswered"], line["Fallback"], line["ModelErrors"]) == (0, 0, 0)
    assert line["ChatLatency"] == result.latency_ms
    assert 0 <= line["ModelLatency"] <= line["ChatLatency"] + 1
    assert line["RetrievalLatency"] > 0
    assert line["PromptTokens"] == result.message.prompt_tokens > 0
    assert line["CompletionTokens"] == result.message.completion_tokens > 0
    assert line["VectorBytesRead"] == result.message.vector_bytes_read


def test_a_fallback_turn_records_unanswered_and_fallback_without_model_metrics(kb_bot, emf):
    model = FakeChatModel()
    chat_answer(bot=kb_bot, message="zebra quantum volcano", model=model)
    (line,) = emf()[-1:]
    assert model.calls == []
    assert metric_names(line, ["stage", "channel"]) == CHAT_METRICS
    assert line["channel"] == "builder"
    assert (line["Unanswered"], line["Fallback"], line["ModelErrors"]) == (1, 1, 0)


def test_a_model_failure_records_a_model_error(kb_bot, emf):
    model = FakeChatModel([ModelUnavailable("quota exhausted")])
    with pytest.raises(ChatUnavailable):
        chat_answer(bot=kb_bot, message="When are refunds issued?", channel=Channel.API, model=model)
    (line,) = emf()[-1:]
    assert line["channel"] == "api"
    assert (line["Unanswered"], line["Fallback"], line["ModelErrors"]) == (1, 0, 1)
    assert "ModelLatency" in line


def test_a_streamed_turn_records_the_same_metrics(kb_bot, emf):
    before = len(emf())
    events = list(chat_answer_stream(bot=kb_bot, message="When are refunds issued?", model=FakeChatModel()))
    assert events[-1][0] == "done"
    (line,) = emf()[before:]
    assert metric_names(line, ["stage", "channel"]) == CHAT_METRICS | MODEL_METRICS


def test_document_processing_records_its_time_and_outcome(bot, owner, emf):
    document, _ = document_upload(bot=bot, user=owner, data=FAQ, filename="faq.md", enqueue=False)
    document = document_process(document_id=str(document.pk), org_id=str(bot.org_id))
    (line,) = emf()
    assert metric_names(line, ["stage"]) == {
        "DocumentProcessingTime",
        "DocumentFailures",
        "DocumentRequeued",
        "DocumentChunks",
    }
    assert (line["DocumentFailures"], line["DocumentRequeued"]) == (0, 0)
    assert line["DocumentChunks"] == document.chunk_count > 0
    assert line["DocumentProcessingTime"] > 0
    assert (line["org"], line["document"], line["status"]) == (str(bot.org_id), str(document.pk), "ready")


def test_a_failed_document_records_a_failure(bot, owner, emf):
    document, _ = document_upload(
        bot=bot, user=owner, data=b"# Gone\n\nSoon.", filename="gone.md", enqueue=False
    )
    default_storage.delete(document.storage_key)
    document = document_process(document_id=str(document.pk), org_id=str(bot.org_id))
    assert document.status == "failed"
    (line,) = emf()
    assert (line["DocumentFailures"], line["status"]) == (1, "failed")
    assert "DocumentChunks" not in line


def test_nothing_is_written_when_metrics_are_off(kb_bot, settings, caplog):
    settings.METRICS_EMF = False
    with caplog.at_level(logging.INFO, logger=METRICS_LOGGER):
        chat_answer(bot=kb_bot, message="When are refunds issued?", model=FakeChatModel())
    assert not [r for r in caplog.records if r.name == METRICS_LOGGER]
