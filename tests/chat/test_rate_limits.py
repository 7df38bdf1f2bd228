"""Public-channel rate limits (issue 8 finding 3): a client IP nobody can forge, limits checked in an
order that never lets a throttled client spend the bot's budget, and offices behind one IP."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from tenants.client_ip import client_ip

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"
OFF_TOPIC = "zebra quantum saxophone"  # answered with the fallback: no model call, fast


def ask(bot, *, visitor=None, **environ):
    headers = {"HTTP_ORIGIN": ORIGIN, **environ}
    if visitor:
        headers["HTTP_X_VISITOR_ID"] = visitor
    return APIClient().post(
        f"/api/public/bots/{bot.public_id}/chat/", {"message": OFF_TOPIC}, format="json", **headers
    )


def lambda_event(source_ip, *, version="1.0"):
    """What Zappa puts in the WSGI environ: the raw API Gateway event under ``lambda.event``."""
    if version == "2.0":
        return {"version": "2.0", "requestContext": {"http": {"sourceIp": source_ip}}}
    return {"requestContext": {"identity": {"sourceIp": source_ip}, "requestId": "r-1"}}


@pytest.fixture
def limits(settings):
    def set_limits(visitor="1000/minute", ip="1000/minute", bot="1000/minute"):
        settings.PUBLIC_CHAT_RATE_VISITOR = visitor
        settings.PUBLIC_CHAT_RATE_IP = ip
        settings.PUBLIC_CHAT_RATE_BOT = bot

    return set_limits


def test_forged_x_forwarded_for_does_not_escape_the_ip_limit(kb_bot, limits):
    """40 requests, each with a new forged X-Forwarded-For and no visitor token, against 20/min: 20 pass."""
    limits(ip="20/minute")
    statuses = [
        ask(kb_bot, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 10.0.0.{i}").status_code for i in range(40)
    ]
    assert statuses.count(200) == 20 and statuses.count(429) == 20


def test_behind_one_trusted_proxy_only_the_address_it_appended_counts(kb_bot, limits, settings):
    limits(ip="20/minute")
    settings.TRUSTED_PROXY_COUNT = 1
    # The client writes anything on the left; our proxy appends the address it saw on the right.
    statuses = [
        ask(kb_bot, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.7").status_code for i in range(40)
    ]
    assert statuses.count(200) == 20
    # Another real client behind the same proxy has its own budget.
    assert ask(kb_bot, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.8").status_code == 200


def test_on_lambda_the_api_gateway_source_ip_counts_not_the_headers(kb_bot, limits):
    limits(ip="20/minute")
    statuses = [
        ask(
            kb_bot,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 192.0.2.{i}",
            # Zappa derives REMOTE_ADDR from X-Forwarded-For, so it is forged too.
            REMOTE_ADDR=f"198.51.100.{i}",
            **{"lambda.event": lambda_event("203.0.113.50")},
        ).status_code
        for i in range(40)
    ]
    assert statuses.count(200) == 20


def test_a_throttled_visitor_does_not_consume_the_bots_budget(kb_bot, limits):
    limits(visitor="2/minute", bot="5/minute")
    first = ask(kb_bot)
    assert first.status_code == 200
    greedy = first.json()["visitor_id"]
    statuses = [ask(kb_bot, visitor=greedy).status_code for _ in range(9)]
    assert statuses == [200] + [429] * 8  # 2 passed in all, 8 refused by the visitor limit
    # The bot has spent 2 of its 5: three more visitors' messages still pass, the next one does not.
    others = [ask(kb_bot).status_code for _ in range(3)]
    assert others == [200, 200, 200]
    busy = ask(kb_bot)
    assert busy.status_code == 429 and busy.json()["limit"] == "bot"


def test_a_second_visitor_behind_the_same_ip_is_not_throttled_at_once(kb_bot, settings):
    """With the default rates: one visitor at their limit leaves the office's other visitors chatting."""
    assert settings.PUBLIC_CHAT_RATE_VISITOR == "20/minute" and settings.PUBLIC_CHAT_RATE_IP == "100/minute"
    first = ask(kb_bot).json()
    statuses = [ask(kb_bot, visitor=first["visitor_id"]).status_code for _ in range(20)]
    assert statuses[:19] == [200] * 19 and statuses[19] == 429
    colleague = ask(kb_bot)
    assert colleague.status_code == 200, colleague.content
    assert ask(kb_bot, visitor=colleague.json()["visitor_id"]).status_code == 200


def test_minting_a_new_visitor_token_per_request_hits_the_ip_ceiling(kb_bot, limits):
    limits(visitor="1/minute", ip="5/minute")
    statuses = [ask(kb_bot, visitor=f"v_made_up_token_{i:04d}").status_code for i in range(8)]
    assert statuses == [200] * 5 + [429] * 3


@pytest.mark.parametrize(
    ("environ", "trusted", "expected"),
    [
        ({"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6"}, 0, "192.0.2.1"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.9"}, 1, "198.51.100.9"),
        (
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.9, 10.0.0.1"},
            2,
            "198.51.100.9",
        ),
        # Fewer entries than trusted proxies: the request bypassed one; use the peer.
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.9"}, 2, "10.0.0.2"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not-an-ip"}, 1, "10.0.0.2"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": " 2001:db8::1 "}, 1, "2001:db8::1"),
        ({"REMOTE_ADDR": "6.6.6.6", "lambda.event": lambda_event("203.0.113.5")}, 0, "203.0.113.5"),
        (
            {"REMOTE_ADDR": "6.6.6.6", "lambda.event": lambda_event("203.0.113.6", version="2.0")},
            0,
            "203.0.113.6",
        ),
        ({"REMOTE_ADDR": "6.6.6.6", "lambda.event": {"no": "context"}}, 0, "6.6.6.6"),
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(environ, trusted, expected, settings):
    settings.TRUSTED_PROXY_COUNT = trusted
    request = RequestFactory().get("/", **environ)
    assert client_ip(request) == expected
