"""Answer generation: the ``ChatModel`` interface and the per-process model getter.

Providers:
- ``"gemini"``: Google Gemini via google-genai (needs ``GEMINI_API_KEY``);
- ``"extractive"``: offline, deterministic sentence extraction (the default without a key).

Services accept an optional ``ChatModel`` override; tests pass ``FakeChatModel`` from
``integrations.llm.fake`` rather than patching this module.
"""

from __future__ import annotations

import functools

from integrations.choices import LLM_PROVIDERS as PROVIDERS
from integrations.llm.base import (
    ChatModel,
    Generation,
    ModelRefused,
    ModelUnavailable,
    Passage,
    Prompt,
    Turn,
    estimate_tokens,
    extract_citations,
)

__all__ = [
    "PROVIDERS",
    "ChatModel",
    "Generation",
    "ModelRefused",
    "ModelUnavailable",
    "Passage",
    "Prompt",
    "Turn",
    "build_chat_model",
    "clear_chat_model_cache",
    "estimate_tokens",
    "extract_citations",
    "get_chat_model",
]


@functools.cache
def build_chat_model(
    *,
    provider: str,
    api_key: str = "",
    model: str = "",
    timeout_s: float = 0.0,
    base_url: str = "",
) -> ChatModel:
    """Build (once per distinct argument set, per process) the model for ``provider``.

    Django-free so it can be used from scripts and benchmarks. ``"gemini"`` needs ``api_key``,
    ``model`` and ``timeout_s`` (their defaults live in the settings, ``GEMINI_*``). Raises
    ``ValueError`` for an unknown provider or for ``"gemini"`` without an API key.
    """
    if provider == "extractive":
        from integrations.llm.extractive import ExtractiveChatModel

        return ExtractiveChatModel()
    if provider == "gemini":
        if not api_key:
            raise ValueError(
                "LLM_PROVIDER is 'gemini' but GEMINI_API_KEY is empty. Set GEMINI_API_KEY (create a key at "
                "https://aistudio.google.com/apikey) or set LLM_PROVIDER=extractive for the offline answerer."
            )
        # Imported here: google-genai is slow to import and unused by the offline answerer.
        from google.genai import types

        from integrations.llm.gemini import GeminiChatModel

        # A base URL points the SDK at a proxy or gateway in front of Gemini (and tests at a fake).
        options = types.HttpOptions(base_url=base_url) if base_url else None
        return GeminiChatModel(api_key, model, timeout_s=timeout_s, http_options=options)
    raise ValueError(f"Unknown LLM provider {provider!r}; expected one of {', '.join(PROVIDERS)}.")


def get_chat_model(provider: str | None = None, model: str | None = None) -> ChatModel:
    """The configured chat model, cached per process.

    Settings: ``LLM_PROVIDER`` (empty: ``"gemini"`` when ``GEMINI_API_KEY`` is set, else
    ``"extractive"``), ``GEMINI_API_KEY``, ``GEMINI_MODEL``, ``GEMINI_TIMEOUT_S``, ``GEMINI_BASE_URL``
    (defaults in ``config/settings``). ``provider`` overrides ``LLM_PROVIDER``; ``model`` (a bot's
    own model name) overrides ``GEMINI_MODEL``.
    """
    from django.conf import settings  # lazy: keeps this package importable without Django

    api_key = settings.GEMINI_API_KEY
    chosen = provider or settings.LLM_PROVIDER or ("gemini" if api_key else "extractive")
    chosen = chosen.strip().lower()
    if chosen == "gemini":
        return build_chat_model(
            provider="gemini",
            api_key=api_key,
            model=model or settings.GEMINI_MODEL,
            timeout_s=float(settings.GEMINI_TIMEOUT_S),
            base_url=settings.GEMINI_BASE_URL,
        )
    return build_chat_model(provider=chosen)


def clear_chat_model_cache() -> None:
    """Forget built models (tests that change settings call this)."""
    build_chat_model.cache_clear()
