"""Malformed requests get a 4xx with a message on every writable endpoint — never a 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chat.services import api_key_create, chat_answer

pytestmark = pytest.mark.django_db

GARBAGE = [
    [],
    "text",
    42,
    None,
    {"message": ["a"]},
    {"name": {"x": 1}},
    {"query": 5, "top_k": "many"},
    {"rating": "meh"},
    {"conversation_id": "not-a-uuid", "message": "hi"},
    {"role": "root"},
    {"email": 7},
    {"size": -1, "filename": ""},
    {"document_ids": ["nope"], "query": "x"},
]


@pytest.mark.slow
def test_garbage_bodies_never_500(org, bot, owner, client_for):
    result = chat_answer(bot=bot, message="hello", user=owner)
    base = f"/api/orgs/{org.pk}"
    bot_base = f"{base}/bots/{bot.pk}"
    targets = [
        ("post", "/api/orgs/"),
        ("patch", f"{base}/"),
        ("post", f"{base}/members/"),
        ("post", f"{base}/bots/"),
        ("patch", f"{bot_base}/"),
        ("post", f"{bot_base}/documents/"),
        ("post", f"{bot_base}/documents/uploads/"),
        ("post", f"{bot_base}/search/"),
        ("post", f"{bot_base}/chat/"),
        ("post", f"{bot_base}/messages/{result.message.pk}/feedback/"),
        ("post", f"{bot_base}/api-keys/"),
        ("post", f"/api/public/bots/{bot.public_id}/chat/"),
        ("post", f"/api/public/messages/{result.message.pk}/feedback/"),
        ("post", "/api/v1/chat/"),
    ]
    client = client_for(owner)
    for method, url in targets:
        for body in GARBAGE:
            if body is None and method == "patch":
                continue  # an empty PATCH is a valid no-op
            response = getattr(client, method)(url, body, format="json")
            assert 400 <= response.status_code < 500, (method, url, body, response.status_code)
            assert response.json(), (method, url, body)
        raw = getattr(client, method)(url, "{not json", content_type="application/json")
        assert 400 <= raw.status_code < 500, (method, url, raw.status_code)
        deep = getattr(client, method)(url, "[" * 100_000, content_type="application/json")
        assert 400 <= deep.status_code < 500, (method, url, deep.status_code)


def test_bad_query_parameters_are_400(org, bot, owner, client_for):
    client = client_for(owner)
    bot_base = f"/api/orgs/{org.pk}/bots/{bot.pk}"
    for url in (
        f"{bot_base}/conversations/?since=yesterday",
        f"{bot_base}/conversations/?channel=fax",
        f"{bot_base}/conversations/?rating=5",
        f"{bot_base}/documents/?status=done",
    ):
        assert client.get(url).status_code == 400, url
    assert client.get(f"{bot_base}/documents/?page=999").status_code == 404
    assert client.get(f"/api/orgs/{org.pk}/bots/not-a-uuid/").status_code == 404


def test_deeply_nested_json_is_a_400_with_a_message(org, bot, owner, client_for):
    """Regression (issue 8 finding 4): 100 000 `[` was an anonymous 500 (RecursionError)."""
    _, raw_key = api_key_create(bot=bot, user=owner, name="backend")
    anonymous, member = APIClient(), client_for(owner)
    targets = [
        (anonymous, f"/api/public/bots/{bot.public_id}/chat/", {}),
        (anonymous, "/api/v1/chat/", {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}),
        (member, f"/api/orgs/{org.pk}/bots/{bot.pk}/chat/", {}),
        (member, "/api/orgs/", {}),
    ]
    for client, url, headers in targets:
        for body in ("[" * 100_000, '{"message": ' + "[" * 100_000):
            response = client.post(url, body, content_type="application/json", **headers)
            assert response.status_code == 400, (url, response.status_code)
            assert "nested too deeply" in response.json()["detail"], url
