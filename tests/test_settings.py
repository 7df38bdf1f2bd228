"""The settings fail at start-up on a value no code path accepts, and name every setting they set.

Each case loads ``config/settings/base.py`` afresh under a patched environment, as a process would.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.cognito import oidc_settings_from_env

BASE = Path(__file__).resolve().parent.parent / "config" / "settings" / "base.py"

CHOICES = {
    "STORAGE_BACKEND": ("local", "s3"),
    "VECTOR_STORE": ("database", "dynamodb"),
    "DYNAMODB_VECTOR_QUANTIZATION": ("float32", "int8"),
    "EMBEDDER": ("minilm", "onnx", "sentence-transformers", "gemini", "fake"),
    "DOCUMENT_PROCESSING": ("sync", "thread", "zappa"),
    "LLM_PROVIDER": ("", "gemini", "extractive"),
    "LOG_FORMAT": ("json", "plain"),
}


def load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE))


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_a_choice_setting_with_an_unknown_value_fails_at_start_up_naming_the_choices(monkeypatch, name):
    with pytest.raises(ImproperlyConfigured) as caught:
        load_settings(monkeypatch, **{name: "no-such-choice"})
    message = str(caught.value)
    assert message.startswith(f"{name} must be one of ")
    assert "'no-such-choice'" in message
    for choice in CHOICES[name]:
        assert (repr(choice) if choice else "'' (empty)") in message


@pytest.mark.parametrize(("name", "choice"), [(n, c) for n, cs in sorted(CHOICES.items()) for c in cs])
def test_every_documented_choice_loads(monkeypatch, name, choice):
    extra = {"AWS_STORAGE_BUCKET_NAME": "bucket"} if choice == "s3" else {}
    loaded = load_settings(monkeypatch, **{name: choice}, **extra)
    if name == "LOG_FORMAT":
        assert loaded["LOGGING"]["handlers"]["console"]["formatter"] == choice
    else:
        assert loaded[name] == choice


def test_choices_are_read_case_insensitively(monkeypatch):
    loaded = load_settings(monkeypatch, EMBEDDER=" MiniLM ", LLM_PROVIDER="Extractive")
    assert (loaded["EMBEDDER"], loaded["LLM_PROVIDER"]) == ("minilm", "extractive")


def test_hosted_ui_settings_assign_every_oidc_setting_by_name(monkeypatch):
    loaded = load_settings(
        monkeypatch,
        COGNITO_REGION="eu-west-1",
        COGNITO_USER_POOL_ID="eu-west-1_abc",
        COGNITO_APP_CLIENT_ID="client123",
        COGNITO_APP_CLIENT_SECRET="s3cret",
        COGNITO_DOMAIN="botwright.auth.eu-west-1.amazoncognito.com",
    )
    expected = oidc_settings_from_env(
        "eu-west-1", "eu-west-1_abc", "botwright.auth.eu-west-1.amazoncognito.com", "client123", "s3cret"
    )
    assert {name: loaded.get(name) for name in expected} == expected
    assert "mozilla_django_oidc" in loaded["INSTALLED_APPS"]
    source = BASE.read_text()
    assert "globals()" not in source
    for name in expected:
        assert f"    {name} = " in source, f"{name} is not assigned by name in base.py"
