"""Cognito end to end over real HTTP: a moto server issues tokens and serves the JWKS; the API
verifies them through the configured settings (JWKS URL and issuer set separately)."""

from __future__ import annotations

import subprocess
import sys

import boto3
import pytest
from moto.server import ThreadedMotoServer

from accounts.cognito import get_verifier
from accounts.models import User
from tenants.models import Invitation, Membership

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

REGION = "us-east-1"


@pytest.fixture(scope="module")
def cognito_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    pool = idp.create_user_pool(PoolName="botwright", UsernameAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="builder", ReadAttributes=["email", "email_verified"],
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]  # fmt: skip
    email = "ada@example.com"
    idp.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": email},
                                          {"Name": "email_verified", "Value": "true"}])  # fmt: skip
    idp.admin_set_user_password(UserPoolId=pool, Username=email, Password="Sup3r-secret!", Permanent=True)
    tokens = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": email, "PASSWORD": "Sup3r-secret!"})  # fmt: skip
    yield {"endpoint": endpoint, "pool": pool, "client_id": client_id, "email": email,
           "id": tokens["AuthenticationResult"]["IdToken"],
           "access": tokens["AuthenticationResult"]["AccessToken"]}  # fmt: skip
    server.stop()


@pytest.fixture
def cognito_settings(settings, cognito_server):
    settings.COGNITO_REGION = REGION
    settings.COGNITO_USER_POOL_ID = cognito_server["pool"]
    settings.COGNITO_APP_CLIENT_ID = cognito_server["client_id"]
    # moto serves the JWKS locally but signs with the real AWS issuer: two separate settings.
    settings.COGNITO_JWKS_URL = f"{cognito_server['endpoint']}/{cognito_server['pool']}/.well-known/jwks.json"
    settings.COGNITO_ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{cognito_server['pool']}"
    get_verifier.cache_clear()
    yield cognito_server
    get_verifier.cache_clear()


def test_id_token_signs_in_creates_the_user_and_accepts_invitations(org, client, cognito_settings):
    Invitation.objects.create(org=org, email=cognito_settings["email"], role="editor")
    response = client.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {cognito_settings['id']}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["email"] == cognito_settings["email"]
    assert body["memberships"] == [{"org_id": str(org.pk), "org_name": org.name, "role": "editor"}]
    user = User.objects.get(email=cognito_settings["email"])
    assert user.external_id  # the Cognito sub
    assert Membership.objects.get(org=org, user=user).role == "editor"

    # Then the access token (no email claim) finds the same user by sub.
    again = client.get("/api/orgs/", HTTP_AUTHORIZATION=f"Bearer {cognito_settings['access']}")
    assert again.status_code == 200
    assert again.json()["results"][0]["id"] == str(org.pk)


def test_tampered_and_foreign_tokens_are_401(client, cognito_settings, settings):
    header, payload, signature = cognito_settings["id"].split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    response = client.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    settings.COGNITO_APP_CLIENT_ID = "some-other-client"
    get_verifier.cache_clear()
    assert (
        client.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {cognito_settings['id']}").status_code == 401
    )


def test_hosted_ui_sign_in_and_auth_config_when_cognito_is_configured():
    """Settings are read at start-up, so this runs a fresh interpreter with the Cognito variables."""
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.base'; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "r = c.get('/oidc/authenticate/'); print(r.status_code, r['Location'].split('?')[0])\n"
        "print(b'Sign in with your organisation account' in c.get('/admin/login/').content)\n"
        "print(c.get('/api/auth/config/').json()['hosted_ui_domain'])\n"
    )
    env = {"PATH": "/usr/bin:/bin", "COGNITO_REGION": "eu-west-1",
           "COGNITO_USER_POOL_ID": "eu-west-1_abc", "COGNITO_APP_CLIENT_ID": "client123",
           "COGNITO_DOMAIN": "botwright.auth.eu-west-1.amazoncognito.com",
           "DATABASE_URL": "sqlite:///:memory:"}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "302 https://botwright.auth.eu-west-1.amazoncognito.com/oauth2/authorize"
    assert lines[1] == "True"
    assert lines[2] == "botwright.auth.eu-west-1.amazoncognito.com"
