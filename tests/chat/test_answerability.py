"""Answerability: the decision before the model, and the verdict on what the model answered."""

from __future__ import annotations

import pytest
from google.genai import types

from chat.answerability import AnswerPolicy, assess, declines_to_answer, unknown_share
from chat.services import chat_answer
from integrations.embeddings.minilm import MODEL_NAME as MINILM
from integrations.llm.base import Passage
from integrations.llm.gemini import GeminiChatModel
from tests.integrations.gemini_fake_server import FakeGeminiServer, text_response


def passage(similarity: float | None, text: str = "The office opens at 08:30.") -> Passage:
    return Passage(chunk_id="c", document_id="d", title="FAQ", text=text, score=1.0, similarity=similarity)


MINILM_POLICY = AnswerPolicy.for_bot(embedding_model=MINILM, relevance_threshold=0.15)


def test_unknown_share_weighs_words_the_knowledge_base_never_uses_most():
    # "civic" and "honda" occur in no chunk: they carry the most weight, so most of the question is unknown.
    counts = {"reset": 40, "oil": 0, "light": 12, "honda": 0, "civic": 0}
    assert unknown_share(counts, total=5000) > 0.6
    assert unknown_share({"session": 168, "browser": 92}, total=5000) == 0.0
    assert unknown_share({}, total=5000) == 0.0  # no content words: nothing is unknown


def test_a_confidently_similar_passage_answers_even_with_unknown_words():
    verdict = assess(
        passages=[passage(0.62)], counts={"licence": 0, "framework": 30}, total=5000, policy=MINILM_POLICY
    )
    assert verdict.answerable and verdict.passages


def test_a_loosely_similar_passage_answers_only_when_the_question_words_are_known():
    known = assess(
        passages=[passage(0.38)], counts={"session": 168, "browser": 92}, total=5000, policy=MINILM_POLICY
    )
    unknown = assess(
        passages=[passage(0.38)],
        counts={"sistine": 0, "chapel": 0, "ceiling": 2},
        total=5000,
        policy=MINILM_POLICY,
    )
    assert known.answerable
    assert not unknown.answerable and unknown.passages == []
    assert "key words" in unknown.reason


def test_a_small_knowledge_base_is_judged_on_similarity_alone():
    """One chunk knows "warranty" but not "long": its vocabulary cannot say the question is off-topic."""
    counts = {"long": 0, "robovac": 1, "warranty": 1}
    small = assess(passages=[passage(0.38)], counts=counts, total=1, policy=MINILM_POLICY)
    large = assess(passages=[passage(0.38)], counts=counts, total=5000, policy=MINILM_POLICY)
    assert small.answerable
    assert not large.answerable
    assert not assess(passages=[passage(0.2)], counts=counts, total=1, policy=MINILM_POLICY).answerable
    # Without a measured similarity scale the vocabulary test stays on, however small the bot.
    unmeasured = AnswerPolicy.for_bot(embedding_model="fake-hash-384", relevance_threshold=0.15)
    assert not assess(passages=[passage(0.38)], counts=counts, total=1, policy=unmeasured).answerable


def test_nothing_similar_enough_is_not_answerable():
    verdict = assess(passages=[passage(0.2)], counts={"session": 168}, total=5000, policy=MINILM_POLICY)
    assert not verdict.answerable and verdict.similarity == 0.2


def test_a_bot_threshold_above_the_band_raises_the_floor():
    strict = AnswerPolicy.for_bot(embedding_model=MINILM, relevance_threshold=0.5)
    assert strict.floor == 0.5 and strict.confident == 0.5
    assert not assess(passages=[passage(0.45)], counts={"session": 1}, total=10, policy=strict).answerable


def test_the_baseline_policy_is_the_old_cosine_threshold():
    baseline = AnswerPolicy.baseline(0.15)
    off_topic = {"sistine": 0, "chapel": 0}
    assert assess(passages=[passage(0.16)], counts=off_topic, total=5000, policy=baseline).answerable
    assert not assess(passages=[passage(0.14)], counts=off_topic, total=5000, policy=baseline).answerable


def test_passages_below_the_bot_threshold_are_not_given_but_lexical_only_ones_are():
    verdict = assess(
        passages=[passage(0.7), passage(0.1, "Unrelated."), passage(None, "Shares the words.")],
        counts={"office": 3},
        total=10,
        policy=MINILM_POLICY,
    )
    assert [p.text for p in verdict.passages] == ["The office opens at 08:30.", "Shares the words."]


@pytest.mark.parametrize(
    ("text", "declines"),
    [
        ("I don't know based on the available documents.", True),
        ("I do not have information about that in the documents.", True),
        ("The provided passages do not mention parking.", True),
        ("Sorry, but I couldn't find that in the documents [1].", True),
        ("That is not covered in the knowledge base.", True),
        ("The office opens at 08:30 [1].", False),
        ("Parking is not mentioned, but the office opens at 08:30 [1].", False),
        ("The office opens at 08:30 [1]. I don't know about holidays.", False),
    ],
)
def test_declines_to_answer_reads_the_first_sentence(text, declines):
    assert declines_to_answer(text) is declines


# --- Through the chat service ------------------------------------------------------------------


@pytest.fixture
def gemini_server():
    with FakeGeminiServer() as fake:
        yield fake


def gemini(server: FakeGeminiServer) -> GeminiChatModel:
    options = types.HttpOptions(base_url=server.url, client_args={"trust_env": False})
    return GeminiChatModel(
        "test-key", "gemini-2.5-flash", timeout_s=20.0, http_options=options, sleep=lambda s: None
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reply",
    [
        "I don't know based on the available documents.",
        "The office is open on weekdays.",  # cites no passage: not grounded
    ],
)
def test_a_gemini_answer_that_does_not_know_or_cites_nothing_is_unanswered(
    kb_bot, viewer, gemini_server, reply
):
    gemini_server.enqueue(200, text_response(reply))

    result = chat_answer(
        bot=kb_bot, message="When does the office open?", model=gemini(gemini_server), user=viewer
    )

    assert len(gemini_server.requests) == 1  # the model was asked...
    assert result.message.unanswered is True  # ...and its answer judged ungrounded
    assert result.message.content == kb_bot.fallback_message and result.sources == []
    assert result.message.model_name == "gemini-2.5-flash"


@pytest.mark.django_db
def test_a_cited_gemini_answer_is_answered_with_renumbered_citations(kb_bot, viewer, gemini_server):
    gemini_server.enqueue(200, text_response("The office opens at 08:30 [1]."))

    result = chat_answer(
        bot=kb_bot, message="When does the office open?", model=gemini(gemini_server), user=viewer
    )

    assert result.message.unanswered is False
    assert result.message.content == "The office opens at 08:30 [1]."
    assert "08:30" in result.sources[0]["snippet"]


@pytest.mark.django_db
def test_an_off_topic_question_gets_the_fallback_without_calling_gemini(kb_bot, viewer, gemini_server):
    result = chat_answer(
        bot=kb_bot,
        message="Who painted the ceiling of the Sistine Chapel?",
        model=gemini(gemini_server),
        user=viewer,
    )

    assert gemini_server.requests == []
    assert result.message.unanswered is True and result.message.content == kb_bot.fallback_message


@pytest.mark.django_db
def test_the_extractive_answerer_gives_whole_cited_sentences_or_the_fallback(kb_bot, viewer):
    answered = chat_answer(bot=kb_bot, message="When does the office open?", user=viewer)
    off_topic = chat_answer(
        bot=kb_bot, message="How do I reset the oil-change light on a Honda Civic?", user=viewer
    )

    assert (
        answered.message.content == "The office opens at 08:30 and closes at 18:00 from Monday to Friday [1]."
    )
    assert answered.message.unanswered is False
    assert off_topic.message.content == kb_bot.fallback_message and off_topic.message.unanswered is True
