"""The answer-generation interface: what a chat model is given and what it returns.

Everything here is plain Python (no Django, no SDK) so that prompt assembly, the chat service and
the tests can share the types without importing a provider.

Contract shared by every ``ChatModel``:

- Passages are numbered ``1..n`` in the order they are given; the model cites them as ``[n]``.
- ``generate`` returns one ``Generation``; ``stream`` yields text deltas (``str``) and then exactly
  one final ``Generation`` whose ``text`` is the concatenation of the deltas.
- Provider failures never leak SDK exceptions: they are raised as ``ModelUnavailable`` (the API
  maps it to HTTP 503 and shows ``public_message``) or ``ModelRefused`` for safety blocks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from integrations.llm.citations import cited_numbers

# Rough size of one token for budgeting: ~4 characters of English text per token is the figure
# Google and OpenAI both publish for their tokenizers. It over-counts code and under-counts CJK
# text; that is acceptable because it is used to keep prompts well under the model's limits and
# to estimate usage for the offline answerer, never for billing.
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Passage:
    """A retrieved passage — the one shape from the store to the answer (search results, prompts, sources).

    Given to a model in a list, it is cited as ``[n]`` by its 1-based position in that list.
    ``text`` is the chunk the search found; ``context_before``/``context_after`` are the neighbouring
    text of the same document (sentence-window expansion), handed to the answerer with it but marked
    as context. ``score`` is the relevance retrieval ranked it by (higher is better; see
    ``documents.retrieval``); ``similarity`` the cosine similarity of question and chunk when the dense
    search found it (``None`` for a passage only the lexical search found).
    """

    chunk_id: str
    document_id: str
    title: str
    text: str
    score: float
    page_start: int | None = None
    page_end: int | None = None
    heading_path: tuple[str, ...] = ()
    similarity: float | None = None
    context_before: str = ""
    context_after: str = ""

    @property
    def pages(self) -> str:
        """``"4"``, ``"4-5"`` or ``""`` when the format has no pages."""
        if self.page_start is None:
            return ""
        if self.page_end in (None, self.page_start):
            return str(self.page_start)
        return f"{self.page_start}-{self.page_end}"

    @property
    def window(self) -> str:
        """The passage with its context: what an answerer reads."""
        return "\n".join(part for part in (self.context_before, self.text, self.context_after) if part)


@dataclass(frozen=True)
class Turn:
    """One message of the conversation, in the provider-neutral roles ``user``/``assistant``."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Prompt:
    """A fully assembled prompt.

    ``contents`` alternates user/assistant turns, oldest first; its final user turn holds the
    passages block and the question. ``question`` repeats the visitor's raw question for answerers
    that do not read prompts (the extractive model); it is empty when the prompt was built by hand.
    """

    system: str
    contents: list[Turn]
    question: str = field(default="")


@dataclass(frozen=True)
class Generation:
    """A finished answer. ``cited`` lists the valid passage numbers cited in ``text``, in order."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    finish_reason: str
    cited: tuple[int, ...]


@runtime_checkable
class ChatModel(Protocol):
    """Answers a question grounded on numbered passages."""

    name: str
    # Whether answers spend a paid model's tokens (on an API key). The per-organisation tokens quota
    # guards those; an answerer that runs here (the offline extractive one) only estimates its tokens.
    billed: bool

    def generate(
        self,
        *,
        prompt: Prompt,
        passages: Sequence[Passage],
        temperature: float,
        max_output_tokens: int = 1024,
    ) -> Generation:
        """Return the whole answer. Raises ``ModelUnavailable`` / ``ModelRefused``."""
        ...

    def stream(
        self,
        *,
        prompt: Prompt,
        passages: Sequence[Passage],
        temperature: float,
        max_output_tokens: int = 1024,
    ) -> Iterator[str | Generation]:
        """Yield text deltas, then one final ``Generation``.

        Errors may be raised before the first delta or part-way through (a safety block can arrive
        mid-answer); callers must discard any partial text when that happens.
        """
        ...


DEFAULT_UNAVAILABLE_MESSAGE = (
    "Sorry, the assistant is temporarily unavailable. Please try again in a few minutes."
)
DEFAULT_REFUSED_MESSAGE = "Sorry, I can't help with that request."


class ModelUnavailable(Exception):
    """The model could not produce an answer right now; the API answers HTTP 503.

    ``reason`` is for operators and logs (may name quotas, keys, status codes); ``public_message``
    is the polite text shown to website visitors and must never contain internal detail.
    """

    default_public_message = DEFAULT_UNAVAILABLE_MESSAGE

    def __init__(self, reason: str, *, public_message: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.public_message = public_message or self.default_public_message


class ModelRefused(ModelUnavailable):
    """The provider's safety system blocked the prompt or the answer."""

    default_public_message = DEFAULT_REFUSED_MESSAGE


def estimate_tokens(text: str) -> int:
    """Cheap token estimate: ``ceil(len(text) / 4)``; 0 for empty text. See ``CHARS_PER_TOKEN``."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def extract_citations(text: str, n_passages: int) -> tuple[int, ...]:
    """Passage numbers cited as ``[n]`` (or ``[n, m]``) in ``text``: see ``citations.cited_numbers``."""
    return cited_numbers(text, n_passages)


def question_of(prompt: Prompt) -> str:
    """The user's question: recorded on the prompt, else the final turn's text."""
    return prompt.question or (prompt.contents[-1].content if prompt.contents else "")


def offline_generation(*, text: str, prompt: Prompt, passages: Sequence[Passage], model: str) -> Generation:
    """A finished answer from a model that runs here (no usage report): tokens are estimated."""
    return Generation(
        text=text,
        prompt_tokens=estimate_tokens(prompt.system + "".join(t.content for t in prompt.contents)),
        completion_tokens=estimate_tokens(text),
        model=model,
        finish_reason="STOP",
        cited=extract_citations(text, len(passages)),
    )
