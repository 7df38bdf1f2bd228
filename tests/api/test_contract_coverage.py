"""Every operation of /api/schema/ answers 2xx to valid input, and every answer keeps the contract.

The walk below calls each route once as a real client would (owner, invitee, visitor, API key);
the contract check (tests/contract.py) validates every response as it goes, and the last assertion
proves no documented operation was left out: a new route without a call here fails this test.
"""

from __future__ import annotations

import json
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.cognito import CognitoVerifier
from analytics.models import UnansweredQuestion
from tests.chat.conftest import FAQ
from tests.conftest import S3_TEST_BUCKET
from tests.contract import RECORD, check, operations
from tests.factories import add_member, make_user
from tests.widget.images import png

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Contract"
CLIENT_ID = "contract-client"


def _verifier_and_token(email: str) -> tuple[CognitoVerifier, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}
    verifier = CognitoVerifier(
        issuer=ISSUER, jwks_url=f"{ISSUER}/jwks", client_id=CLIENT_ID, fetch=lambda url: jwks
    )
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "contract-sub",
        "token_use": "id",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "email": email,
        "email_verified": True,
    }
    return verifier, jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def _ok(response, status: int | None = None):
    expected = status or response.status_code
    assert 200 <= response.status_code < 300 and response.status_code == expected, (
        response.status_code,
        response.content[:500],
    )
    return response.json() if response.get("Content-Type", "").startswith("application/json") else None


def test_every_schema_operation_answers_2xx_within_the_contract(
    org, bot, owner, client_for, s3_storage, monkeypatch, django_capture_on_commit_callbacks
):
    start = len(RECORD.seen)
    client = client_for(owner)
    anonymous = APIClient()
    api = f"/api/orgs/{org.pk}/"
    bot_url = f"{api}bots/{bot.pk}/"

    # Platform and the signed-in user.
    _ok(anonymous.get("/api/health/"))
    _ok(anonymous.get("/api/auth/config/"))
    _ok(client.get("/api/auth/me/"))
    verifier, token = _verifier_and_token(owner.email)
    monkeypatch.setattr("accounts.apis.get_verifier", lambda: verifier)
    _ok(client.post("/api/auth/identity/link/", {"id_token": token}, format="json"))

    # Organisations.
    _ok(client.get("/api/orgs/?page=1&page_size=10"))
    spare = _ok(client.post("/api/orgs/", {"name": "Spare"}, format="json"), 201)
    _ok(client.get(api))
    _ok(client.patch(api, {"name": "Acme Ltd"}, format="json"))
    _ok(client.delete(f"/api/orgs/{spare['id']}/"), 204)

    # Members and invitations: one invitation accepted, one declined, one revoked.
    member = add_member(org, make_user("member@example.com"), "viewer")
    _ok(client.get(f"{api}members/"))
    _ok(client.get(f"{api}members/{member.pk}/"))
    _ok(client.patch(f"{api}members/{member.pk}/", {"role": "editor"}, format="json"))
    _ok(client.delete(f"{api}members/{member.pk}/"), 204)
    invitee, decliner = make_user("invitee@example.com"), make_user("decliner@example.com")
    accepted = _ok(
        client.post(f"{api}members/", {"email": invitee.email, "role": "viewer"}, format="json"), 202
    )
    declined = _ok(client.post(f"{api}members/", {"email": decliner.email}, format="json"), 202)
    revoked = _ok(client.post(f"{api}members/", {"email": "nobody-yet@example.com"}, format="json"), 202)
    _ok(client.get(f"{api}invitations/"))
    _ok(client.delete(f"{api}invitations/{revoked['id']}/"), 204)
    _ok(client_for(invitee).get("/api/invitations/"))
    _ok(client_for(invitee).post(f"/api/invitations/{accepted['id']}/accept/"))
    _ok(client_for(decliner).post(f"/api/invitations/{declined['id']}/decline/"), 204)

    # Bots and the widget's avatar.
    _ok(client.get(f"{api}bots/"))
    extra = _ok(client.post(f"{api}bots/", {"name": "Second bot"}, format="json"), 201)
    _ok(client.get(bot_url))
    _ok(
        client.patch(
            bot_url,
            {"allowed_origins": ["https://shop.example.com"], "relevance_threshold": 0.1},
            format="json",
        )
    )
    avatar = SimpleUploadedFile("avatar.png", png())
    public_bot = _ok(client.put(f"{bot_url}avatar/", {"file": avatar}, format="multipart"))
    _ok(client.delete(f"{api}bots/{extra['id']}/"), 204)

    # Documents: an upload processed after its commit, then reads, reindexing and deletion.
    with django_capture_on_commit_callbacks(execute=True):
        document = _ok(
            client.post(
                f"{bot_url}documents/",
                {"file": SimpleUploadedFile("faq.md", FAQ), "title": "FAQ"},
                format="multipart",
            ),
            201,
        )
    _ok(client.get(f"{bot_url}documents/?status=ready&page=1"))
    _ok(client.get(f"{bot_url}documents/{document['id']}/"))
    _ok(client.get(f"{bot_url}documents/{document['id']}/chunks/"))
    with django_capture_on_commit_callbacks(execute=True):
        _ok(client.post(f"{bot_url}documents/{document['id']}/reindex/"), 202)
    with django_capture_on_commit_callbacks(execute=True):
        _ok(client.post(f"{bot_url}reindex/"), 202)
    started = _ok(
        client.post(f"{bot_url}documents/uploads/", {"filename": "notes.txt", "size": 30}, format="json"), 201
    )
    s3_storage.put_object(
        Bucket=S3_TEST_BUCKET, Key=started["upload"]["fields"]["key"], Body=b"Parcels ship within two days.\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        _ok(client.post(f"{bot_url}documents/{started['document']['id']}/complete/"), 202)
    _ok(client.delete(f"{bot_url}documents/{started['document']['id']}/"), 204)

    # Chat for members: search, an answer, the conversation and its feedback.
    found = _ok(client.post(f"{bot_url}search/", {"query": "opening hours"}, format="json"))
    assert found["results"] and found["results"][0]["chunk_id"]
    answer = _ok(client.post(f"{bot_url}chat/", {"message": "When does the office open?"}, format="json"))
    _ok(client.get(f"{bot_url}conversations/?channel=builder"))
    _ok(client.get(f"{bot_url}conversations/{answer['conversation_id']}/"))
    _ok(client.post(f"{bot_url}messages/{answer['message_id']}/feedback/", {"rating": "up"}, format="json"))

    # Per-bot evaluation: golden questions (one by hand, two imported), a run, its history.
    golden = _ok(
        client.post(
            f"{bot_url}golden-questions/",
            {"question": "How long do refunds take?", "expected_answer": "within 14 days"},
            format="json",
        ),
        201,
    )
    _ok(client.get(f"{bot_url}golden-questions/?page=1"))
    _ok(client.get(f"{bot_url}golden-questions/{golden['id']}/"))
    _ok(
        client.patch(
            f"{bot_url}golden-questions/{golden['id']}/", {"question": "Refunds: how long?"}, format="json"
        )
    )
    golden_csv = (
        b"question,answer,off_topic\n"
        b"When does the office open?,opens at 08:30,\n"
        b"Who painted the Sistine Chapel?,,true\n"
    )
    _ok(
        client.post(
            f"{bot_url}golden-questions/import/",
            {"file": SimpleUploadedFile("golden.csv", golden_csv, content_type="text/csv")},
            format="multipart",
        ),
        201,
    )
    run = _ok(client.post(f"{bot_url}evaluate/", {"k": 3}, format="json"), 201)
    _ok(client.get(f"{bot_url}evaluations/"))
    _ok(client.get(f"{bot_url}evaluations/{run['id']}/"))
    _ok(client.delete(f"{bot_url}golden-questions/{golden['id']}/"), 204)
    _ok(client.get(f"{api}usage/"))

    # API keys and the server-to-server channel.
    created = _ok(client.post(f"{bot_url}api-keys/", {"name": "CI"}, format="json"), 201)
    assert created["key"]
    _ok(client.get(f"{bot_url}api-keys/"))
    server = APIClient(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    _ok(server.post("/api/v1/chat/", {"message": "When does the office open?"}, format="json"))
    _ok(client.delete(f"{bot_url}api-keys/{created['id']}/"), 204)

    # The public channel, as the website widget uses it.
    public = f"/api/public/bots/{public_bot['public_id']}/"
    _ok(anonymous.get(public))
    _ok(anonymous.get(public_bot["avatar_url"].removeprefix("http://testserver")))
    _ok(client.delete(f"{bot_url}avatar/"), 200)
    visitor_answer = _ok(anonymous.post(f"{public}chat/", {"message": "Do you sell zebras?"}, format="json"))
    visitor = {"HTTP_X_VISITOR_ID": visitor_answer["visitor_id"]}
    _ok(anonymous.get(f"{public}conversations/{visitor_answer['conversation_id']}/", **visitor))
    _ok(
        anonymous.post(
            f"/api/public/messages/{visitor_answer['message_id']}/feedback/",
            {"rating": "down"},
            format="json",
            **visitor,
        )
    )

    # Analytics: figures, exports and the unanswered-question workflow.
    _ok(client.get(f"{api}analytics/summary/?bot={bot.pk}"))
    _ok(client.get(f"{api}analytics/usage/"))
    _ok(client.get(f"{api}analytics/export/messages/?format=json"))
    group = UnansweredQuestion.objects.create(
        org=org, bot=bot, key_hash="1" * 64, key="zebra", text="Zebras?"
    )
    _ok(client.get(f"{api}analytics/unanswered/?status=open"))
    _ok(client.post(f"{api}analytics/unanswered/{group.pk}/ignore/"))
    _ok(client.post(f"{api}analytics/unanswered/{group.pk}/reopen/"))
    with django_capture_on_commit_callbacks(execute=True):
        _ok(
            client.post(
                f"{api}analytics/unanswered/{group.pk}/resolve/",
                {"answer": "We sell no zebras."},
                format="json",
            )
        )

    missing = sorted(operations() - RECORD.succeeded(since=start))
    assert not missing, f"operations without a 2xx call in this walk: {missing}"


def test_the_contract_check_catches_drift(owner, org, client_for):
    """The check is not a rubber stamp: a list sent as an array, a missing field, an undocumented
    status and a non-JSON error each fail it."""
    response = client_for(owner).get("/api/orgs/")
    assert list(check("GET", "/api/orgs/", "", response)) == []

    page = response.json()
    response.content = json.dumps(page["results"]).encode()  # the old drift: an array, not a page
    assert list(check("GET", "/api/orgs/", "", response))
    del page["results"][0]["name"]
    response.content = json.dumps(page).encode()
    assert any("name" in problem for problem in check("GET", "/api/orgs/", "", response))

    response.content = json.dumps({"detail": "I'm a teapot."}).encode()
    response.status_code = 418
    assert any("not documented" in problem for problem in check("GET", "/api/orgs/", "", response))

    missing = client_for(owner).get(f"/api/orgs/{org.pk}/bots/{org.pk}/")
    assert missing.status_code == 404 and list(check("GET", missing.wsgi_request.path, "", missing)) == []
    missing.content, missing["Content-Type"] = b"<h1>Not Found</h1>", "text/html"
    assert list(check("GET", missing.wsgi_request.path, "", missing))
