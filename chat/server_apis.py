"""The server-to-server channel: ``POST /api/v1/chat/`` with a bot API key (channel ``api``).

The key names its bot, so there is no org or bot in the URL; everything after the key lookup is
scoped to the key's org and bot. JSON only, rate limited per key.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny

from api.base import APIView
from api.parsers import JSONParser
from api.schema import error_responses

from . import ratelimit
from .authentication import BotApiKeyAuthentication
from .models import BotApiKey, Channel
from .responses import SSE_DESCRIPTION, chat_answer_responses, continue_or_start
from .serializers import ChatInputSerializer, ChatOutputSerializer


class ApiChatApi(APIView):
    authentication_classes = [BotApiKeyAuthentication]
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(
        request=ChatInputSerializer,
        responses={
            **chat_answer_responses(ChatOutputSerializer),
            **error_responses(401, 402, 404, 429, 503),
        },
        description=SSE_DESCRIPTION,
    )
    def post(self, request):
        key = request.auth
        if not isinstance(key, BotApiKey):
            raise exceptions.NotAuthenticated("Send Authorization: Bearer <bot API key>.")
        ratelimit.check(f"key:{key.pk}", settings.API_KEY_CHAT_RATE, limit="api_key")
        data = ChatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return continue_or_start(bot=key.bot, channel=Channel.API, data=data.validated_data, api_key=key)
