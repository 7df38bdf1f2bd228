"""Bot API keys as a DRF authentication: ``Authorization: Bearer bw_...`` on the server-to-server
channel (``/api/v1/chat/``). The key, not a user, is the credential: ``request.auth`` is the
BotApiKey and ``request.user`` stays anonymous, so a key never opens a builder endpoint."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from . import services


class BotApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer bw_...` → (anonymous user, the BotApiKey)."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        key = services.api_key_authenticate(parts[1].decode("latin-1"))
        if key is None:
            raise exceptions.AuthenticationFailed(
                "Unknown or revoked API key. Ask a bot admin for a new one."
            )
        return AnonymousUser(), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
