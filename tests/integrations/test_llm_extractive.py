"""The offline extractive answerer and the test fake: deterministic, cited, grounded."""

from __future__ import annotations

import pytest

from chat.prompts import build_prompt
from integrations.llm.base import ChatModel, Generation, ModelUnavailable, Passage
from integrations.llm.extractive import ExtractiveChatModel, split_sentences, terms
from integrations.llm.fake import FakeChatModel

HANDBOOK = [
    Passage(
        chunk_id="c1",
        document_id="doc-hr",
        title="Employee handbook",
        page_start=4,
        page_end=4,
        heading_path=("Time off",),
        text=(
            "Full-time employees receive 25 days of paid annual leave per calendar year. "
            "Unused leave days can be carried over until 31 March of the following year. "
            "Part-time staff accrue leave pro rata."
        ),
        score=0.82,
    ),
    Passage(
        chunk_id="c2",
        document_id="doc-hr",
        title="Employee handbook",
        page_start=9,
        page_end=10,
        heading_path=("Expenses",),
        text=(
            "Travel expenses must be submitted within 30 days through the finance portal. "
            "Receipts are required for every claim above 25 euros. "
            "Refunds are paid with the next monthly salary."
        ),
        score=0.61,
    ),
    Passage(
        chunk_id="c3",
        document_id="doc-it",
        title="IT guide",
        page_start=None,
        page_end=None,
        heading_path=(),
        text=(
            "The office Wi-Fi network is called AcmeGuest.\n"
            "To reset your password, open https://id.acme.test and choose 'Forgot password'. "
            "Passwords expire every 90 days."
        ),
        score=0.40,
    ),
]


def ask(question: str, passages=HANDBOOK) -> Generation:
    prompt = build_prompt(
        system_prompt="You are Acme's assistant.", passages=passages, history=[], question=question
    )
    return ExtractiveChatModel().generate(prompt=prompt, passages=passages, temperature=0.2)


def first_sentence(answer: str) -> str:
    return answer.split("]")[0] + "]"


def test_extractive_model_satisfies_chat_model_protocol():
    model = ExtractiveChatModel()
    assert isinstance(model, ChatModel)
    assert model.name == "extractive"


@pytest.mark.parametrize(
    ("question", "expected_fragment", "expected_passage"),
    [
        ("How many days of annual leave do employees get?", "25 days of paid annual leave", 1),
        ("When must travel expenses be submitted?", "submitted within 30 days", 2),
        ("How do I reset my password?", "To reset your password", 3),
        ("Can I carry over unused leave?", "carried over until 31 March", 1),
        ("How often do passwords expire?", "expire every 90 days", 3),
        ("Do I need receipts for my claims?", "Receipts are required", 2),
    ],
)
def test_answer_opens_with_the_sentence_containing_the_answer(question, expected_fragment, expected_passage):
    generation = ask(question)

    opening = first_sentence(generation.text)
    assert expected_fragment in opening
    assert opening.endswith(f"[{expected_passage}]")
    assert generation.cited[0] == expected_passage


def test_answer_is_deterministic():
    question = "What is the Wi-Fi network called and when do passwords expire?"
    answers = {ask(question).text for _ in range(5)}

    assert len(answers) == 1


def test_answer_is_short_and_every_sentence_is_cited():
    generation = ask("What are the rules for leave days for employees and part-time staff?")

    sentences = split_sentences(generation.text)
    assert 1 <= len(sentences) <= 3
    for sentence in sentences:
        assert sentence.rstrip(".!?").endswith("]"), sentence
    assert generation.cited == tuple(dict.fromkeys(generation.cited))
    assert set(generation.cited) <= {1, 2, 3}


def test_combines_sentences_that_cover_different_parts_of_the_question():
    generation = ask("What is the Wi-Fi network called and when do passwords expire?")

    assert "AcmeGuest" in generation.text
    assert "90 days" in generation.text
    assert generation.cited == (3,)


def test_identical_sentences_are_quoted_once_from_the_better_ranked_passage():
    twins = [
        Passage(chunk_id="c1", document_id="a", title="A", text="The cafeteria opens at noon.", score=0.9),
        Passage(chunk_id="c2", document_id="b", title="B", text="The cafeteria opens at noon.", score=0.5),
    ]
    generation = ask("When does the cafeteria open?", passages=twins)

    assert generation.text == "The cafeteria opens at noon [1]."
    assert generation.cited == (1,)


def test_faq_questions_are_not_quoted_as_answers():
    faq = [
        Passage(
            chunk_id="c1",
            document_id="a",
            title="FAQ",
            page_start=None,
            page_end=None,
            heading_path=(),
            text="How long is the warranty? The warranty lasts two years.",
            score=0.6,
        ),
    ]
    generation = ask("How long is the warranty?", passages=faq)
    assert generation.text == "The warranty lasts two years [1]."


def test_without_overlap_it_declines_instead_of_quoting_something():
    generation = ask("Qwerty zxcvb?")

    # No sentence carries the question's words: an empty answer, which the chat service turns
    # into the bot's fallback marked unanswered (the old answerer quoted passage 1 regardless).
    assert generation.text == "" and generation.cited == ()


def test_token_counts_are_estimated_and_reported():
    generation = ask("How many days of annual leave do employees get?")

    assert generation.prompt_tokens > 50  # the prompt includes the three passages
    assert 0 < generation.completion_tokens <= len(generation.text)
    assert generation.finish_reason == "STOP"
    assert generation.model == "extractive"


def test_stream_yields_words_then_the_same_generation():
    prompt = build_prompt(
        system_prompt="", passages=HANDBOOK, history=[], question="How do I reset my password?"
    )
    items = list(ExtractiveChatModel().stream(prompt=prompt, passages=HANDBOOK, temperature=0.0))

    *deltas, final = items
    assert isinstance(final, Generation)
    assert len(deltas) > 3
    assert all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == final.text
    assert final.cited == (3,)


def test_terms_drop_stop_words_and_stem_inflections():
    assert terms("How are the refunds refunded?") == {"refund"}
    assert terms("Policies and prices") == {"policy", "pric"}
    assert terms("cache cached caching caches") == {"cach"}
    assert terms("view-caching") == {"view", "cach"}
    assert terms("Wi-Fi") == {"wi-fi"}
    assert "business" in terms("business")


def test_split_sentences_keeps_abbreviations_and_splits_lines():
    # Blocks (headings, paragraphs) are separated by blank lines; a single newline is a wrapped line.
    text = 'Bring ID, e.g. a passport. Say "hello." Arrive early!\n\nHeading line\n\nLast one?'

    assert split_sentences(text) == [
        "Bring ID, e.g. a passport.",
        'Say "hello."',
        "Arrive early!",
        "Heading line",
        "Last one?",
    ]


def test_fake_model_records_calls_and_returns_scripted_answers():
    fake = FakeChatModel(["Scripted answer [2]."])
    prompt = build_prompt(system_prompt="s", passages=HANDBOOK, history=[], question="q?")

    first = fake.generate(prompt=prompt, passages=HANDBOOK, temperature=0.3)
    second = fake.generate(prompt=prompt, passages=HANDBOOK, temperature=0.1, max_output_tokens=64)

    assert first.text == "Scripted answer [2]."
    assert first.cited == (2,)
    assert second.text == "Echo: q? [1]"
    assert second.cited == (1,)
    assert [c.temperature for c in fake.calls] == [0.3, 0.1]
    assert fake.calls[1].max_output_tokens == 64
    assert fake.calls[0].prompt is prompt
    assert fake.calls[0].passages == tuple(HANDBOOK)


def test_fake_model_raises_scripted_errors_when_streaming():
    fake = FakeChatModel([ModelUnavailable("quota exhausted")])
    prompt = build_prompt(system_prompt="s", passages=[], history=[], question="q?")

    with pytest.raises(ModelUnavailable, match="quota exhausted"):
        list(fake.stream(prompt=prompt, passages=[], temperature=0.2))
    assert [c.method for c in fake.calls] == ["stream"]


def test_wrapped_pdf_lines_stay_one_sentence():
    text = (
        "A flat return fee\nof 4.95 euros is deducted.\nRefunds arrive at our warehouse in\nLeeds first."
        "\n- Item one\n\nNext"
    )
    assert split_sentences(text) == [
        "A flat return fee of 4.95 euros is deducted.",
        "Refunds arrive at our warehouse in Leeds first.",
        "- Item one",
        "Next",
    ]


def test_headings_are_not_quoted_as_answers():
    policy = [
        Passage(
            chunk_id="c1",
            document_id="a",
            title="Policy",
            page_start=1,
            page_end=1,
            heading_path=("Returns",),
            text="Returns\n\nUnused products can be returned within 30 days of delivery.",
            score=0.3,
        ),
    ]
    generation = ask("What is the returns window?", passages=policy)
    assert generation.text == "Unused products can be returned within 30 days of delivery [1]."


DEBRIS = Passage(
    chunk_id="c9",
    document_id="css",
    title="Styling",
    text=(
        "image in your stylesheet (…): [1]. .\n"
        ". [1].\n"
        ">>> from django.db import connection\n"
        'CACHES = {"default": {"BACKEND": "locmem"}}\n'
        "| Setting | Default |\n"
        "+---------+---------+\n"
        "Stylesheet\n"
        "and the stylesheet image is cached for a day."
    ),
    score=0.9,
)


@pytest.mark.parametrize(
    "fragment",
    [
        "image in your stylesheet (…): [1]. .",
        ". [1].",
        ">>> from django.db import connection",
        'CACHES = {"default": {"BACKEND": "locmem"}}',
        "| Setting | Default |",
        "+---------+---------+",
        "Stylesheet",
        "and the stylesheet image is cached for a day.",  # starts mid-sentence (a chunk boundary)
    ],
)
def test_fragments_code_and_table_debris_are_never_prose(fragment):
    from integrations.llm.extractive import clean_sentence, is_prose

    assert not is_prose(clean_sentence(fragment))


def test_a_passage_of_debris_gets_no_answer_rather_than_a_fragment():
    generation = ask("How is the stylesheet image cached?", passages=[DEBRIS])

    assert generation.text == "" and generation.cited == ()


def test_markup_is_reduced_to_text_and_the_sentence_quoted_whole():
    passage = Passage(
        chunk_id="c1",
        document_id="d",
        title="Sessions",
        text=(
            "Browser-length sessions\n\n"
            "You can control whether the session framework uses browser-length sessions with the "
            ":setting:`SESSION_EXPIRE_AT_BROWSER_CLOSE` setting. See :doc:`the settings </ref/settings>`::"
        ),
        score=0.8,
    )
    generation = ask("How do browser-length sessions work?", passages=[passage])

    assert generation.text.startswith(
        "You can control whether the session framework uses browser-length sessions with the "
        "`SESSION_EXPIRE_AT_BROWSER_CLOSE` setting [1]."
    )
    assert ":setting:" not in generation.text and "::" not in generation.text


def test_context_sentences_are_quoted_and_cited_with_their_passage():
    passage = Passage(
        chunk_id="c1",
        document_id="d",
        title="Warranty",
        text="Every robot comes with a manual.",
        context_after="The warranty on every robot lasts two years from delivery.",
        score=0.8,
    )
    generation = ask("How long does the robot warranty last?", passages=[passage])

    assert generation.text == "The warranty on every robot lasts two years from delivery [1]."
