"""Google Gemini through the ``google-genai`` SDK.

Retries are ours, not the SDK's: the client is built with ``HttpRetryOptions(attempts=1)`` so every
HTTP attempt is visible here, counted deterministically and paced by an injectable ``sleep``.
429 (rate limit), 408, 5xx and connection failures are retried ``max_retries`` times with
exponential backoff (``backoff_s * 2**retry``), stretched to a server-provided delay (a
``Retry-After`` header or the ``google.rpc.RetryInfo`` detail Gemini sends with 429s). Two cases
give up at once because waiting inside a web request cannot help: a per-day quota violation, and a
requested delay longer than ``max_retry_after_s``. Timeouts are not retried either: the visitor has
already waited ``timeout_s``.

Every failure surfaces as ``ModelUnavailable`` (operator-facing ``reason``; the API answers 503
with the polite ``public_message``) or ``ModelRefused`` for safety blocks.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from google import genai
from google.genai import errors, types

from integrations.llm.base import (
    Generation,
    ModelRefused,
    ModelUnavailable,
    Passage,
    Prompt,
    estimate_tokens,
    extract_citations,
)

logger = logging.getLogger(__name__)

# The Gemini Developer API version that supports system instructions and thinking config; pinned
# because the SDK's default has changed between releases.
API_VERSION = "v1beta"

_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_REFUSAL_FINISH_REASONS = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY", "MODEL_ARMOR"}
)
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeout, connection) exception classes of whichever httpx flavour the SDK uses.

    google-genai works with ``httpx`` or its fork ``httpx2``; both may be installed.
    """
    timeouts: list[type[BaseException]] = []
    connects: list[type[BaseException]] = []
    for module_name in ("httpx", "httpx2"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        connects.extend([module.ConnectError, module.RemoteProtocolError])
    return tuple(timeouts), tuple(connects)


_TIMEOUT_ERRORS, _CONNECT_ERRORS = _transport_errors()

T = TypeVar("T")


def _enum_name(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _default_thinking_budget(model: str) -> int | None:
    # Gemini 2.5 Flash thinks by default and thinking tokens count against max_output_tokens, so a
    # long thought can leave an empty answer. Grounded answering gains little from it; switch it
    # off where the model allows (2.5 Pro cannot disable thinking, other families use other knobs).
    return 0 if "2.5-flash" in model else None


class GeminiChatModel:
    """``ChatModel`` backed by Gemini. Thread-safe to share (the SDK client is)."""

    billed = True

    def __init__(
        self,
        api_key: str,
        model: str,
        *,
        timeout_s: float,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_retry_after_s: float = 10.0,
        thinking_budget: int | None | str = "auto",
        http_options: types.HttpOptions | None = None,
        client: genai.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``thinking_budget="auto"`` disables thinking on 2.5 Flash models and leaves others alone;
        pass ``None`` for the model default or an int for an explicit budget. ``http_options``
        (e.g. ``HttpOptions(base_url=...)`` for a fake server) is merged with our timeout, API
        version and retry settings; values it sets explicitly win except retries."""
        if not api_key and client is None:
            raise ValueError("GeminiChatModel needs an API key (set GEMINI_API_KEY).")
        self.name = model
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.thinking_budget = (
            _default_thinking_budget(model) if thinking_budget == "auto" else thinking_budget
        )
        self._sleep = sleep
        self._client = client or genai.Client(
            api_key=api_key, vertexai=False, http_options=self._http_options(http_options)
        )

    def _http_options(self, given: types.HttpOptions | None) -> types.HttpOptions:
        options = given.model_copy() if given is not None else types.HttpOptions()
        return options.model_copy(
            update={
                "api_version": options.api_version or API_VERSION,
                # HttpOptions.timeout is in milliseconds.
                "timeout": options.timeout or int(self.timeout_s * 1000),
                "retry_options": types.HttpRetryOptions(attempts=1),
            }
        )

    # -- request building -------------------------------------------------------------------

    def _request(self, prompt: Prompt, temperature: float, max_output_tokens: int) -> dict[str, Any]:
        contents = [
            types.Content(
                role="user" if turn.role == "user" else "model", parts=[types.Part(text=turn.content)]
            )
            for turn in prompt.contents
        ]
        config = types.GenerateContentConfig(
            system_instruction=prompt.system or None,
            temperature=temperature,
            max_output_tokens=max_output_tokens,
            candidate_count=1,
            thinking_config=(
                types.ThinkingConfig(thinking_budget=self.thinking_budget)
                if self.thinking_budget is not None
                else None
            ),
        )
        return {"model": self.model, "contents": contents, "config": config}

    # -- retries and error mapping ----------------------------------------------------------

    def _with_retries(self, attempt_fn: Callable[[], T]) -> T:
        retry = 0
        while True:
            try:
                return attempt_fn()
            except errors.APIError as exc:
                delay = self._retry_delay(exc, retry)
                if delay is None:
                    raise self._unavailable(exc, attempts=retry + 1) from exc
            except _TIMEOUT_ERRORS as exc:
                raise ModelUnavailable(
                    f"Gemini ({self.model}) did not answer within {self.timeout_s}s: {exc!r}"
                ) from exc
            except _CONNECT_ERRORS as exc:
                if retry >= self.max_retries:
                    raise ModelUnavailable(
                        f"Could not reach Gemini after {retry + 1} attempts: {exc!r}"
                    ) from exc
                delay = self.backoff_s * 2**retry
            except errors.UnknownApiResponseError as exc:
                raise ModelUnavailable(f"Gemini returned an unreadable response: {exc}") from exc
            retry += 1
            logger.info("Gemini request failed; retry %d/%d in %.2fs", retry, self.max_retries, delay)
            self._sleep(delay)

    def _retry_delay(self, exc: errors.APIError, retry: int) -> float | None:
        """Seconds to wait before retrying ``exc``, or None to give up."""
        if exc.code not in _RETRYABLE_STATUS or retry >= self.max_retries:
            return None
        if exc.code == 429 and _is_daily_quota(exc):
            return None
        delay = self.backoff_s * 2**retry
        requested = _server_retry_after(exc)
        if requested is not None:
            if requested > self.max_retry_after_s:
                return None
            delay = max(delay, requested)
        return delay

    def _unavailable(self, exc: errors.APIError, *, attempts: int) -> ModelUnavailable:
        code, status, message = exc.code, exc.status or "", exc.message or str(exc)
        where = f"Gemini {self.model}"
        if code == 429:
            kind = "daily quota exhausted" if _is_daily_quota(exc) else "quota/rate limit exceeded"
            requested = _server_retry_after(exc)
            wait = f"; server asked to retry after {requested:g}s" if requested is not None else ""
            return ModelUnavailable(
                f"{where}: {kind} (429 {status}) after {attempts} attempt(s){wait}: {message}"
            )
        if code in (401, 403) or (code == 400 and _is_invalid_key(exc)):
            return ModelUnavailable(
                f"{where}: the API key was rejected ({code} {status}: {message}). Check GEMINI_API_KEY "
                "and that the Generative Language API is enabled for its project."
            )
        if code == 404:
            return ModelUnavailable(f"{where}: model not found (404: {message}). Check GEMINI_MODEL.")
        if code >= 500 or code == 408:
            return ModelUnavailable(
                f"{where}: server error {code} {status} after {attempts} attempt(s): {message}"
            )
        return ModelUnavailable(f"{where}: request rejected ({code} {status}): {message}")

    # -- response parsing -------------------------------------------------------------------

    def _check_refusal(self, response: types.GenerateContentResponse) -> None:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason:
            raise ModelRefused(f"Gemini blocked the prompt: {_enum_name(feedback.block_reason)}")
        for candidate in response.candidates or ():
            reason = _enum_name(candidate.finish_reason)
            if reason in _REFUSAL_FINISH_REASONS:
                raise ModelRefused(f"Gemini blocked the answer: finish_reason={reason}")

    @staticmethod
    def _text_of(response: types.GenerateContentResponse) -> str:
        if not response.candidates:
            return ""
        content = response.candidates[0].content
        if content is None or not content.parts:
            return ""
        # Thought summaries are not part of the answer.
        return "".join(part.text for part in content.parts if part.text and not part.thought)

    def _generation(
        self,
        *,
        text: str,
        finish_reason: str,
        usage: types.GenerateContentResponseUsageMetadata | None,
        model_version: str | None,
        prompt: Prompt,
        passages: Sequence[Passage],
    ) -> Generation:
        if not text.strip():
            raise ModelUnavailable(
                f"Gemini {self.model} returned no answer text (finish_reason={finish_reason or 'none'})"
            )
        prompt_tokens = usage.prompt_token_count if usage and usage.prompt_token_count is not None else None
        completion = (
            usage.candidates_token_count if usage and usage.candidates_token_count is not None else None
        )
        return Generation(
            text=text,
            prompt_tokens=(
                prompt_tokens
                if prompt_tokens is not None
                else estimate_tokens(prompt.system + "".join(t.content for t in prompt.contents))
            ),
            completion_tokens=completion if completion is not None else estimate_tokens(text),
            model=model_version or self.model,
            finish_reason=finish_reason or "STOP",
            cited=extract_citations(text, len(passages)),
        )

    # -- ChatModel ---------------------------------------------------------------------------

    def generate(
        self,
        *,
        prompt: Prompt,
        passages: Sequence[Passage],
        temperature: float,
        max_output_tokens: int = 1024,
    ) -> Generation:
        request = self._request(prompt, temperature, max_output_tokens)
        response = self._with_retries(lambda: self._client.models.generate_content(**request))
        self._check_refusal(response)
        if not response.candidates:
            raise ModelUnavailable(f"Gemini {self.model} returned no candidates")
        return self._generation(
            text=self._text_of(response),
            finish_reason=_enum_name(response.candidates[0].finish_reason),
            usage=response.usage_metadata,
            model_version=response.model_version,
            prompt=prompt,
            passages=passages,
        )

    def stream(
        self,
        *,
        prompt: Prompt,
        passages: Sequence[Passage],
        temperature: float,
        max_output_tokens: int = 1024,
    ) -> Iterator[str | Generation]:
        """Stream deltas. Only the opening of the stream is retried: once text has been yielded a
        retry would repeat it, so later failures raise ``ModelUnavailable`` directly."""
        request = self._request(prompt, temperature, max_output_tokens)

        def open_stream() -> tuple[
            Iterator[types.GenerateContentResponse], types.GenerateContentResponse | None
        ]:
            chunks = iter(self._client.models.generate_content_stream(**request))
            # The SDK sends the request lazily, so pull the first chunk inside the retry loop.
            return chunks, next(chunks, None)

        chunks, first = self._with_retries(open_stream)
        pieces: list[str] = []
        finish_reason = ""
        usage = None
        model_version = None
        chunk = first
        while chunk is not None:
            self._check_refusal(chunk)
            delta = self._text_of(chunk)
            if delta:
                pieces.append(delta)
                yield delta
            if chunk.candidates and chunk.candidates[0].finish_reason:
                finish_reason = _enum_name(chunk.candidates[0].finish_reason)
            usage = chunk.usage_metadata or usage
            model_version = chunk.model_version or model_version
            try:
                chunk = next(chunks, None)
            except errors.APIError as exc:
                raise self._unavailable(exc, attempts=1) from exc
            except _TIMEOUT_ERRORS + _CONNECT_ERRORS as exc:
                raise ModelUnavailable(f"Gemini stream from {self.model} broke off: {exc!r}") from exc
        yield self._generation(
            text="".join(pieces),
            finish_reason=finish_reason,
            usage=usage,
            model_version=model_version,
            prompt=prompt,
            passages=passages,
        )


def _error_details(exc: errors.APIError) -> list[dict[str, Any]]:
    details = exc.details
    if isinstance(details, dict):
        inner = details.get("error", details)
        found = inner.get("details") if isinstance(inner, dict) else None
        if isinstance(found, list):
            return [d for d in found if isinstance(d, dict)]
    return []


def _is_daily_quota(exc: errors.APIError) -> bool:
    for detail in _error_details(exc):
        if detail.get("@type", "").endswith("google.rpc.QuotaFailure"):
            for violation in detail.get("violations") or ():
                if "PerDay" in str(violation.get("quotaId", "")):
                    return True
    return False


def _is_invalid_key(exc: errors.APIError) -> bool:
    if any(d.get("reason") == "API_KEY_INVALID" for d in _error_details(exc)):
        return True
    return "api key not valid" in (exc.message or "").lower()


def _server_retry_after(exc: errors.APIError) -> float | None:
    """Delay the server asked for: ``Retry-After`` (seconds or HTTP date) or RetryInfo.retryDelay."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    header = headers.get("retry-after") if headers is not None else None
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return max(0.0, parsed.timestamp() - time.time())
    for detail in _error_details(exc):
        if detail.get("@type", "").endswith("google.rpc.RetryInfo"):
            match = _DURATION_RE.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None
