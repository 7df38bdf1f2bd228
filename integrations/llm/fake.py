"""A scriptable ``ChatModel`` for tests of the chat service and APIs.

Pass it to services as their model override instead of patching import paths. It records every
call and answers from a script: each entry is either a string (the answer text), a ``Generation``
(returned as is) or an exception instance (raised, e.g. ``ModelUnavailable("quota")``). When the
script runs out it echoes the question with a citation of passage 1, so tests that do not care
about the answer still get a cited, grounded-looking one.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from integrations.llm.base import Generation, Passage, Prompt, offline_generation, question_of

ScriptEntry = str | Generation | BaseException


@dataclass(frozen=True)
class FakeCall:
    """One recorded call; ``method`` is ``"generate"`` or ``"stream"``."""

    method: str
    prompt: Prompt
    passages: tuple[Passage, ...]
    temperature: float
    max_output_tokens: int


class FakeChatModel:
    """Records calls and returns scripted answers (or an echo citing ``[1]``)."""

    billed = True  # stands in for a paid model in tests

    def __init__(self, responses: Iterable[ScriptEntry] | None = None, *, name: str = "fake") -> None:
        self.name = name
        self.responses: deque[ScriptEntry] = deque(responses or ())
        self.calls: list[FakeCall] = []

    def _answer(
        self,
        method: str,
        prompt: Prompt,
        passages: Sequence[Passage],
        temperature: float,
        max_output_tokens: int,
    ) -> Generation:
        self.calls.append(FakeCall(method, prompt, tuple(passages), temperature, max_output_tokens))
        entry: ScriptEntry
        if self.responses:
            entry = self.responses.popleft()
        else:
            question = question_of(prompt)
            entry = f"Echo: {question} [1]" if passages else f"Echo: {question}"
        if isinstance(entry, BaseException):
            raise entry
        if isinstance(entry, Generation):
            return entry
        return offline_generation(text=entry, prompt=prompt, passages=passages, model=self.name)

    def generate(
        self,
        *,
        prompt: Prompt,
        passages: Sequence[Passage],
        temperature: float,
        max_output_tokens: int = 1024,
    ) -> Generation:
        return self._answer("generate", prompt, passages, temperature, max_output_tokens)

    def stream(
        self,
        *,
        prompt: Prompt,
        passages: Sequence[Passage],
        temperature: float,
        max_output_tokens: int = 1024,
    ) -> Iterator[str | Generation]:
        """Yield the scripted text word by word, then the ``Generation``.

        The call is recorded (and a scripted exception raised) on the first ``next()``, like a
        real streaming request.
        """
        generation = self._answer("stream", prompt, passages, temperature, max_output_tokens)
        yield from re.findall(r"\S+\s*", generation.text)
        yield generation
