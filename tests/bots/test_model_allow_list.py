"""Issue 8, finding 8a: a bot may only name a Gemini model the deployment allows (the operator pays)."""

from __future__ import annotations

import pytest

from bots.models import Bot

pytestmark = pytest.mark.django_db


def bots_url(org, bot=None):
    return f"/api/orgs/{org.pk}/bots/" + (f"{bot.pk}/" if bot else "")


def test_creating_a_bot_with_a_model_outside_the_allow_list_is_400_listing_the_allowed_ones(
    org, editor, client_for, settings
):
    settings.GEMINI_ALLOWED_MODELS = ["gemini-2.5-flash", "gemini-2.5-flash-lite"]

    response = client_for(editor).post(
        bots_url(org), {"name": "Pricey", "model_name": "gemini-2.5-pro"}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["allowed_models"] == ["gemini-2.5-flash", "gemini-2.5-flash-lite"]
    assert "gemini-2.5-flash, gemini-2.5-flash-lite" in body["errors"]["model_name"][0]
    assert not Bot.objects.for_org(org).filter(name="Pricey").exists()


def test_changing_a_bot_to_a_model_outside_the_allow_list_is_400(org, editor, bot, client_for, settings):
    settings.GEMINI_ALLOWED_MODELS = ["gemini-2.5-flash"]

    response = client_for(editor).patch(bots_url(org, bot), {"model_name": "gemini-ultra"}, format="json")

    assert response.status_code == 400
    assert response.json()["allowed_models"] == ["gemini-2.5-flash"]
    bot.refresh_from_db()
    assert bot.model_name == ""


@pytest.mark.parametrize("model_name", ["", "gemini-2.5-flash-lite"])
def test_an_allowed_model_or_the_default_is_accepted(org, editor, client_for, settings, model_name):
    settings.GEMINI_ALLOWED_MODELS = ["gemini-2.5-flash", "gemini-2.5-flash-lite"]

    response = client_for(editor).post(
        bots_url(org), {"name": "Fine", "model_name": model_name}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["model_name"] == model_name


def test_the_default_allow_list_includes_the_default_model():
    from django.conf import settings

    assert settings.GEMINI_MODEL in settings.GEMINI_ALLOWED_MODELS
