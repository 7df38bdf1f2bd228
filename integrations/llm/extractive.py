"""An offline, deterministic answerer used when no Gemini key is configured.

It does not generate language: it quotes whole sentences from the passages (their context included)
that best cover the question, each with its citation — or declines with an empty answer, which the
chat service turns into the bot's fallback, marked unanswered.

- **Only prose is quoted.** Documents hold code, tables, headings, list debris and markup; a sentence
  qualifies when it has at least ``MIN_WORDS`` words, is mostly letters, ends like a sentence, does
  not start mid-sentence, and does not look like code or a table row. Inline markup (RST roles,
  double backticks) is reduced to its text. No fragment such as ``". [1]."`` can be emitted.
- **Sentences must carry the question's key terms.** Question words (lower-cased, stop words removed,
  lightly stemmed) are weighted by how rare they are among the candidate sentences (an IDF; a word no
  candidate contains weighs most); a sentence's score is the share of that weight it covers, lifted
  by its passage's retrieval rank (and lowered for context sentences). The best sentence must cover
  at least ``MIN_COVERAGE`` of the
  question, otherwise the answerer declines. Up to ``MAX_SENTENCES`` sentences are quoted, each adding
  a key term the previous ones lacked.
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
from integrations.llm.citations import cite
from integrations.llm.terms import terms

__all__ = ["ExtractiveChatModel", "clean_sentence", "is_prose", "split_sentences", "terms"]

MAX_SENTENCES = 3
MIN_WORDS = 4
MAX_WORDS = 80
# The best sentence must cover this share of the question's IDF weight.
MIN_COVERAGE = 0.15
# A further sentence must score at least this share of the best one: enough to add a supporting
# detail, not so little that unrelated sentences are appended.
_SUPPORT_RATIO = 0.5
_MAX_ANSWER_CHARS = 700

# A sentence ends at . ! ? (optionally followed by a closing quote/bracket) before whitespace, or at
# a line break; bullets and headings in extracted documents are usually one per line.
_SENTENCE_SPLIT_RE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'’”)\]]))[ \t]+|\s*\n+\s*")
# A single line break is a wrapped line (PDF text) unless a list item, heading, table row or code
# starts after it; blank lines still separate paragraphs.
_WRAPPED_LINE_RE = re.compile(r"(?<!\n)[ \t]*\n[ \t]*(?!\n|[-*•+|>#=~^`$][ \t]?|\d{1,3}[.)][ \t]|\.\. )")
# Runs of spaces and tabs collapse to one before the two patterns above run: each of them, tried at
# every position of a long run with no line break in it, would rescan the run (quadratic time on a
# chunk that is mostly spaces). Quoted sentences are whitespace-collapsed anyway.
_HSPACE_RUN_RE = re.compile(r"[ \t]{2,}")
_ABBREVIATIONS = frozenset({"e.g.", "i.e.", "etc.", "mr.", "mrs.", "ms.", "dr.", "vs.", "no.", "st.", "cf."})

# Inline markup reduced to its text: RST roles (":setting:`DEBUG`", ":class:`~a.b.C`",
# ":doc:`title </path>`"), double backticks, emphasis stars and Markdown links.
_RST_ROLE_RE = re.compile(r":([a-z][\w:+.-]*):`(~?)([^`<]*?)\s*(?:<[^`>]*>)?`")
# Roles that name documents or sections read as plain words; the others name code.
_PROSE_ROLES = frozenset({"doc", "ref", "rfc", "pep", "term", "abbr", "pypi"})
_LITERAL_RE = re.compile(r"``([^`]+)``")
_EMPHASIS_RE = re.compile(r"(?<![\w*])\*{1,2}([^*\n]+?)\*{1,2}(?![\w*])")
_MD_LINK_RE = re.compile(r"\[([^\]\n]+)\]\([^)\s]+\)")
_BULLET_RE = re.compile(r"^(?:[-*•+]|\d{1,3}[.)])\s+")
# Code, tables and markup lines: an interactive prompt, a shell prompt, a directive, a table rule.
_NOT_PROSE_START_RE = re.compile(r"^(?:>>>|\.\.\.|\$ |\.\. |#|\||\+-|[=~^-]{3}|\{%|\{\{|<[a-z/!])")
_CODE_TOKEN_RE = re.compile(r"[=(){}\[\];<>|\\/_]|::|->|=>")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _role(match: re.Match[str]) -> str:
    role, short, target = match.group(1), match.group(2), match.group(3).strip()
    if short:  # ":class:`~a.b.C`" shows only "C"
        target = target.rsplit(".", 1)[-1]
    if not target:
        return ""
    return target if role in _PROSE_ROLES else f"`{target}`"


def clean_sentence(sentence: str) -> str:
    """``sentence`` without list markers and with inline markup reduced to its text."""
    text = _collapse(_BULLET_RE.sub("", sentence.strip()))
    text = _RST_ROLE_RE.sub(_role, text)
    text = _LITERAL_RE.sub(r"`\1`", text)
    text = _EMPHASIS_RE.sub(r"\1", text)
    text = _MD_LINK_RE.sub(r"\1", text)
    if text.endswith("::"):
        text = text[:-1]  # an RST "for example::" introduces a code block; one colon reads right
    return text


def is_prose(sentence: str) -> bool:
    """Whether a (cleaned) sentence reads as a sentence: no code, table row, heading or fragment."""
    text = sentence.strip()
    if not text or _NOT_PROSE_START_RE.match(text):
        return False
    words = text.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return False
    first = text.lstrip("\"'“‘(")[:1]
    if not first or (first.isalpha() and first.islower()) or not (first.isalnum() or first == "`"):
        return False  # starts mid-sentence (a chunk boundary) or with punctuation
    if text[-1] not in ".!?:":
        return False  # a heading, a label or a cut-off line
    if text.endswith("?"):
        return False  # an FAQ's own question echoes the user's words but answers nothing
    visible = [c for c in text if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    if letters < 0.6 * len(visible):
        return False
    # Prose has few code tokens once inline literals are set aside.
    outside_literals = re.sub(r"`[^`]*`", "x", text)
    return len(_CODE_TOKEN_RE.findall(outside_literals)) <= max(2, len(words) // 8)


def split_sentences(text: str) -> list[str]:
    """Split on sentence punctuation and line breaks, re-joining after common abbreviations."""
    # Joining wrapped lines can make new runs of spaces: collapse before and after.
    text = _HSPACE_RUN_RE.sub(" ", _WRAPPED_LINE_RE.sub(" ", _HSPACE_RUN_RE.sub(" ", text)))
    pieces = [p.strip() for p in _SENTENCE_SPLIT_RE.split(text) if p and p.strip()]
    sentences: list[str] = []
    for piece in pieces:
        if sentences and sentences[-1].split()[-1].lower() in _ABBREVIATIONS:
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


@dataclass(frozen=True)
class _Candidate:
    passage_number: int  # 1-based position in the passages given
    position: int
    sentence: str
    terms: frozenset[str]
    prior: float  # how much retrieval trusts where the sentence comes from


def _prior(number: int, in_context: bool) -> float:
    # Retrieval ranked the passages by meaning, which word overlap alone cannot see: the first
    # passage's own text is the likeliest home of the answer, its context and later passages less so.
    return (1.0 + 0.6 / number) * (0.85 if in_context else 1.0)


def _candidates(passages: Sequence[Passage]) -> list[_Candidate]:
    found: list[_Candidate] = []
    seen: set[str] = set()
    for number, passage in enumerate(passages, start=1):
        parts = ((passage.context_before, True), (passage.text, False), (passage.context_after, True))
        position = 0
        for text, in_context in parts:
            for raw in split_sentences(text):
                position += 1
                sentence = clean_sentence(raw)
                if not is_prose(sentence) or sentence in seen:
                    continue
                seen.add(sentence)  # overlapping windows repeat sentences; quote each once
                if sentence.endswith(":"):
                    sentence = sentence[:-1].rstrip() + "."
                found.append(
                    _Candidate(
                        number, position, sentence, frozenset(terms(sentence)), _prior(number, in_context)
                    )
                )
    return found


class ExtractiveChatModel:
    """Quotes the best-covering passage sentences with ``[n]`` citations. Ignores temperature."""

    billed = False  # runs here: no model key is spent

    name = "extractive"

    def answer_text(self, *, question: str, passages: Sequence[Passage]) -> str:
        """The answer for ``question`` from ``passages``; empty when no sentence can answer it."""
        candidates = _candidates(passages)
        wanted = terms(question)
        if not candidates or not wanted:
            return ""
        n = len(candidates)
        df = {t: sum(1 for c in candidates if t in c.terms) for t in wanted}
        # A word no candidate contains weighs most: missing it is what makes an answer wrong.
        weight = {t: math.log(1 + (n + 0.5) / (df[t] + 0.5)) for t in wanted}
        total = sum(weight.values())

        def coverage(c: _Candidate) -> float:
            return sum(weight[t] for t in c.terms & wanted) / total

        def score(c: _Candidate) -> float:
            return coverage(c) * c.prior

        scored = sorted(
            ((score(c), c) for c in candidates), key=lambda sc: (-sc[0], sc[1].passage_number, sc[1].position)
        )
        best_score, best = scored[0]
        if coverage(best) < MIN_COVERAGE:
            return ""
        chosen = [best]
        covered = set(best.terms & wanted)
        length = len(best.sentence)
        for value, cand in scored[1:]:
            if len(chosen) == MAX_SENTENCES or value < best_score * _SUPPORT_RATIO:
                break
            new_terms = (cand.terms & wanted) - covered
            if not new_terms or length + len(cand.sentence) > _MAX_ANSWER_CHARS:
                continue  # repeats what is already said, or too long
            chosen.append(cand)
            covered |= new_terms
            length += len(cand.sentence)
        return " ".join(cite(c.sentence, c.passage_number) for c in chosen)

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
