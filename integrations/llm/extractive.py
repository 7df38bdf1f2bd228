"""An offline, deterministic answerer used when no Gemini key is configured.

It does not generate language: it quotes the sentences from the passages that best match the
question and cites them. Scoring is lexical: question words (lower-cased, stop words removed, a
light suffix-stripping stemmer) matched against each sentence, each matched word weighted by how
rare it is among all candidate sentences (an IDF), so "refund" counts for more than "policy" when
every passage talks about policies. Ties go to the earlier passage, then the earlier sentence.

Contract: the chat service calls a model only when retrieval found relevant passages, so this
answerer always answers from them; when no sentence shares a word with the question it falls back
to the opening of the highest-scoring passage rather than saying nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from integrations.llm.base import (
    Generation,
    Passage,
    Prompt,
    offline_generation,
    question_of,
)

MAX_SENTENCES = 3
# A further sentence must score at least this share of the best one: enough to add a supporting
# detail, not so little that unrelated sentences are appended.
_SUPPORT_RATIO = 0.5
_MAX_ANSWER_CHARS = 700

# Hyphenated compounds ("Wi-Fi", "part-time") stay one word: their halves alone mean little.
_WORD_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)*(?:['’][^\W_]+)?", re.UNICODE)
# A sentence ends at . ! ? (optionally followed by a closing quote/bracket) before whitespace, or at
# a line break; bullets and headings in extracted documents are usually one per line.
_SENTENCE_SPLIT_RE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'’”)\]]))[ \t]+|\s*\n+\s*")
# A single line break is a wrapped line (PDF text) unless a list item or heading starts after it;
# blank lines still separate paragraphs.
_WRAPPED_LINE_RE = re.compile(r"(?<!\n)[ \t]*\n[ \t]*(?!\n|[-*•+][ \t]|\d{1,3}[.)][ \t]|#)")
_ABBREVIATIONS = frozenset({"e.g.", "i.e.", "etc.", "mr.", "mrs.", "ms.", "dr.", "vs.", "no.", "st."})

_STOPWORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just let
    me more most my myself no nor not of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves please tell know want need get got also
    may might must shall us one s t don doesn isn aren wasn weren won
    """
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def _stem(word: str) -> str:
    """Strip common English inflections so "refunds"/"refunded"/"refunding" meet at "refund"."""
    for suffix, replacement in (
        ("ies", "y"),
        ("ied", "y"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
        ("ly", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "es" and not word.endswith(("ches", "shes", "sses", "xes", "zes")):
                # "prices" → "price", not "pric"; only sibilant plurals drop the whole "es".
                return word[:-1]
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: len(word) - len(suffix)] + replacement
    return word


def terms(text: str) -> set[str]:
    """Content words of ``text``: lower-cased, stop words removed, stemmed."""
    found = set()
    for raw in _WORD_RE.findall(text.lower()):
        word = raw.replace("’", "'").split("'")[0]
        if len(word) < 2 or word in _STOPWORDS:
            continue
        found.add(_stem(word))
    return found


def split_sentences(text: str) -> list[str]:
    """Split on sentence punctuation and line breaks, re-joining after common abbreviations."""
    text = _WRAPPED_LINE_RE.sub(" ", text)
    pieces = [p.strip() for p in _SENTENCE_SPLIT_RE.split(text) if p and p.strip()]
    sentences: list[str] = []
    for piece in pieces:
        if sentences and sentences[-1].split()[-1].lower() in _ABBREVIATIONS:
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def _looks_like_heading(sentence: str) -> bool:
    text = sentence.strip()
    return bool(text) and text[-1] not in ".!?:;)\"'’”" and len(text.split()) <= 8


@dataclass(frozen=True)
class _Candidate:
    passage_number: int
    position: int
    sentence: str
    terms: frozenset[str]


def _cite(sentence: str, number: int) -> str:
    """Place the citation before the closing punctuation: "Opens at 9 [1]."."""
    stripped = sentence.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1].rstrip()} [{number}]{stripped[-1]}"
    return f"{stripped} [{number}]."


class ExtractiveChatModel:
    """Quotes the best-matching passage sentences with ``[n]`` citations. Ignores temperature."""

    name = "extractive"

    def answer_text(self, *, question: str, passages: Sequence[Passage]) -> str:
        """The answer for ``question`` from ``passages``; empty only when there are no passages."""
        candidates = [
            _Candidate(p.number, i, s, frozenset(terms(s)))
            for p in sorted(passages, key=lambda p: p.number)
            for i, s in enumerate(split_sentences(p.text))
        ]
        # An FAQ's own questions echo the user's words but answer nothing, and headings ("Returns")
        # name a topic without saying anything about it: quote statements instead.
        statements = [
            c
            for c in candidates
            if not c.sentence.rstrip().endswith("?") and not _looks_like_heading(c.sentence)
        ]
        candidates = statements or candidates
        if not candidates:
            return ""
        relevance = {p.number: max(p.score, 0.0) for p in passages}
        wanted = terms(question)
        df = {t: sum(1 for c in candidates if t in c.terms) for t in wanted}
        idf = {t: math.log(1 + len(candidates) / n) for t, n in df.items() if n}

        def score(c: _Candidate) -> float:
            # Divided by a dampened length so a long sentence is not favoured just for having
            # more words, while a one-word heading line cannot beat a real answer sentence.
            # Weighted by the passage's retrieval score: the embedder judged meaning, not just words.
            matched = sum(idf[t] for t in c.terms & idf.keys())
            return matched / math.sqrt(max(len(c.terms), 4)) * (1.0 + relevance[c.passage_number])

        scored = sorted(
            ((score(c), c) for c in candidates),
            key=lambda sc: (-sc[0], sc[1].passage_number, sc[1].position),
        )
        best_score = scored[0][0]
        if best_score <= 0:
            top = max(passages, key=lambda p: (p.score, -p.number))
            chosen = [c for c in candidates if c.passage_number == top.number][:2]
        else:
            chosen = []
            covered: set[str] = set()
            length = 0
            for value, cand in scored:
                if len(chosen) == MAX_SENTENCES or value < best_score * _SUPPORT_RATIO:
                    break
                new_terms = (cand.terms & idf.keys()) - covered
                if chosen and not new_terms:
                    continue  # repeats what is already said
                if chosen and length + len(cand.sentence) > _MAX_ANSWER_CHARS:
                    break
                chosen.append(cand)
                covered |= cand.terms
                length += len(cand.sentence)
        return " ".join(_cite(c.sentence, c.passage_number) for c in chosen)

    def generate(
        self,
        *,
        prompt: Prompt,
        passages: Sequence[Passage],
        temperature: float,
        max_output_tokens: int = 1024,
    ) -> Generation:
        text = self.answer_text(question=question_of(prompt), passages=passages)
        return offline_generation(text=text, prompt=prompt, passages=passages, model=self.name)

    def stream(
        self,
        *,
        prompt: Prompt,
        passages: Sequence[Passage],
        temperature: float,
        max_output_tokens: int = 1024,
    ) -> Iterator[str | Generation]:
        """Yield the answer word by word (each delta keeps its following space), then the result."""
        generation = self.generate(
            prompt=prompt, passages=passages, temperature=temperature, max_output_tokens=max_output_tokens
        )
        yield from re.findall(r"\S+\s*", generation.text)
        yield generation
