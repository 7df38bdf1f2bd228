"""The public channel: website visitors, no login, under /api/public/.

Every route resolves its bot (from the public id, or for message feedback from the message), then:
- CORS per bot (``cors.py``): a browser Origin that is not one of the bot's allowed origins is
  refused with 403 and no allow header; allowed origins get their preflights and actual responses
  answered, with ``Vary: Origin``. Requests without an Origin (server-side) pass.
- an inactive bot is closed on every route with the same 403 (preflights still pass, so a widget
  can read that answer);
- the visitor's secret token travels in the ``X-Visitor-Id`` header, never in a URL (a POST body
  field is still accepted where documented); with it a visitor reads, continues and rates only
  their own conversations;
- JSON only; errors never carry operator detail (``ChatUnavailable.for_visitors``).
"""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api.base import APIView
from api.parsers import JSONParser
from api.schema import error_responses
from bots.appearance import AVATAR_TYPES
from bots.models import Bot
from bots.selectors import bot_avatar_read
from tenants.client_ip import client_ip
from tenants.errors import Forbidden, InvalidInput

from . import ratelimit, selectors, services
from .cors import VISITOR_HEADER, allow_headers, origin_allowed, preflight_headers
from .models import Channel
from .responses import SSE_DESCRIPTION, chat_answer_responses, chat_response
from .serializers import (
    VISITOR_ID_PATTERN,
    AvatarQuerySerializer,
    PublicBotSerializer,
    PublicChatInputSerializer,
    PublicChatOutputSerializer,
    PublicConversationSerializer,
    PublicFeedbackInputSerializer,
    PublicFeedbackOutputSerializer,
)

BOT_INACTIVE = "This bot is not active."
_VISITOR_ID = re.compile(VISITOR_ID_PATTERN)
VISITOR_HEADER_PARAMETER = OpenApiParameter(
    VISITOR_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="The visitor's secret token from an earlier answer (`visitor_id`).",
)
VISITOR_RESPONSE_HEADER = OpenApiParameter(
    VISITOR_HEADER,
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description="The visitor's token (also `visitor_id` in the body and in the `done` event).",
)


def visitor_id_from(request, body_value: str = "") -> str:
    """The visitor's token from the X-Visitor-Id header (or the POST body where documented); ""."""
    header = request.headers.get(VISITOR_HEADER, "").strip()
    if header and not _VISITOR_ID.match(header):
        raise InvalidInput(
            f"The {VISITOR_HEADER} header is not a visitor id; send the visitor_id you were given, "
            "or none to start as a new visitor."
        )
    if header and body_value and header != body_value:
        raise InvalidInput(f"The {VISITOR_HEADER} header and the body's visitor_id differ; send one of them.")
    return header or body_value


def _required_visitor_id(request, body_value: str = "") -> str:
    visitor_id = visitor_id_from(request, body_value)
    if not visitor_id:
        raise InvalidInput(f"Send the visitor_id you were given in the {VISITOR_HEADER} header.")
    return visitor_id


class PublicAPIView(APIView):
    """Base of every public route: bot resolution, per-bot CORS, active bots only (module docstring)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    may_forbid = True  # origin not allowed, bot inactive
    bot: Bot | None = None
    origin = ""

    @classmethod
    def bot_for(cls, view_kwargs: dict[str, Any]) -> Bot:
        """The route's bot, or Http404."""
        return selectors.public_bot_get(public_id=view_kwargs["public_id"])

    @classmethod
    def refusal_headers(cls, request: HttpRequest, view_kwargs: dict[str, Any]) -> dict[str, str]:
        """CORS headers for an answer given before the view runs (the body-limit middleware's 413),
        so a widget on an allowed origin can read it."""
        headers = {"Vary": "Origin"}
        origin = request.headers.get("Origin", "")
        if origin:
            try:
                if origin_allowed(origin, cls.bot_for(view_kwargs).allowed_origins):
                    headers.update(allow_headers(origin))
            except Http404:
                pass
        return headers

    def initial(self, request, *args, **kwargs):
        self.origin = request.headers.get("Origin", "")
        super().initial(request, *args, **kwargs)

    def resolve_scope(self, request, **kwargs):
        self.bot = self.bot_for(kwargs)
        if self.origin and not origin_allowed(self.origin, self.bot.allowed_origins):
            raise Forbidden(
                f"Origin {self.origin} is not allowed to use this bot; "
                "a bot admin can add it to the bot's allowed origins.",
                code="origin_not_allowed",
            )
        if request.method != "OPTIONS" and not self.bot.is_active:
            raise Forbidden(BOT_INACTIVE, code="bot_inactive")

    def options(self, request, *args, **kwargs):
        response = Response(status=status.HTTP_204_NO_CONTENT)
        for name, value in preflight_headers(self.allowed_methods).items():
            response[name] = value
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, ["Origin"])
        if self.bot is not None and origin_allowed(self.origin, self.bot.allowed_origins):
            for name, value in allow_headers(self.origin).items():
                response[name] = value
        return response


class PublicBotApi(PublicAPIView):
    @extend_schema(responses=PublicBotSerializer)
    def get(self, request, public_id):
        return Response(PublicBotSerializer(self.bot, context={"request": request}).data)


class _AnyAcceptNegotiation(BaseContentNegotiation):
    """An <img> asks for image types the JSON renderer cannot offer; errors still answer JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


AVATAR_CACHE_S = 365 * 24 * 3600


class PublicBotAvatarApi(PublicAPIView):
    content_negotiation_class = _AnyAcceptNegotiation
    query_serializer = AvatarQuerySerializer

    @extend_schema(
        responses={
            (200, content_type): OpenApiResponse(response=OpenApiTypes.BINARY)
            for content_type in AVATAR_TYPES.values()
        },
        description="The bot's avatar image for the widget. `avatar_url` carries a version that "
        "changes with the image, so that URL may be cached for a year.",
    )
    def get(self, request, public_id):
        data = bot_avatar_read(bot=self.bot)
        response = HttpResponse(data, content_type=self.bot.avatar_content_type)
        # The bytes were sniffed on upload; these headers keep any browser from reading them as
        # anything but that image, even opened directly.
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Content-Disposition"] = "inline"
        response["Cross-Origin-Resource-Policy"] = "cross-origin"
        current = self.query.get("v") == self.bot.avatar_version
        response["Cache-Control"] = f"public, max-age={AVATAR_CACHE_S}, immutable" if current else "no-cache"
        return response


class PublicChatApi(PublicAPIView):
    @extend_schema(
        request=PublicChatInputSerializer,
        parameters=[VISITOR_HEADER_PARAMETER, VISITOR_RESPONSE_HEADER],
        responses={
            **chat_answer_responses(PublicChatOutputSerializer),
            **error_responses(402, 429, 503),
        },
        description="Ask the bot. Without a visitor id a new visitor is issued one (`visitor_id`); "
        "send it back in X-Visitor-Id to continue a conversation. " + SSE_DESCRIPTION,
    )
    def post(self, request, public_id):
        data = PublicChatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = visitor_id_from(request, data.validated_data.get("visitor_id") or "")
        # Limits key on the token the visitor will hold: a first message counts against its new one.
        visitor_id = given or services.new_visitor_id()
        ip = client_ip(request)
        ratelimit.public_chat_check(bot_id=self.bot.pk, visitor_id=visitor_id, ip=ip)
        conversation = None
        if data.validated_data.get("conversation_id"):
            conversation = selectors.public_conversation_get(
                bot=self.bot, conversation_id=data.validated_data["conversation_id"], visitor_id=given
            )
        response = chat_response(
            stream=data.validated_data["stream"],
            output=PublicChatOutputSerializer,
            public=True,
            bot=self.bot,
            message=data.validated_data["message"],
            conversation=conversation,
            channel=Channel.PUBLIC,
            visitor_id=visitor_id,
        )
        response[VISITOR_HEADER] = visitor_id
        return response


class PublicConversationApi(PublicAPIView):
    def validated_query(self, request):
        if "visitor_id" in request.query_params:
            raise InvalidInput(
                f"The visitor id travels in the {VISITOR_HEADER} header, never in the URL "
                "(URLs end up in access logs); drop ?visitor_id=."
            )
        return super().validated_query(request)

    @extend_schema(
        parameters=[VISITOR_HEADER_PARAMETER],
        responses=PublicConversationSerializer,
        description="The visitor's own conversation; the visitor id goes in X-Visitor-Id, never the URL.",
    )
    def get(self, request, public_id, conversation_id):
        conversation = selectors.public_conversation_get(
            bot=self.bot,
            conversation_id=conversation_id,
            visitor_id=_required_visitor_id(request),
            with_messages=True,
        )
        return Response(PublicConversationSerializer(conversation).data)


class PublicFeedbackApi(PublicAPIView):
    @classmethod
    def bot_for(cls, view_kwargs: dict[str, Any]) -> Bot:
        # The message names its bot, whose origins and state then apply like on every other route.
        return selectors.public_message_bot(message_id=view_kwargs["message_id"])

    @extend_schema(
        request=PublicFeedbackInputSerializer,
        parameters=[VISITOR_HEADER_PARAMETER],
        responses=PublicFeedbackOutputSerializer,
    )
    def post(self, request, message_id):
        data = PublicFeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = selectors.public_message_get(
            bot=self.bot,
            message_id=message_id,
            visitor_id=_required_visitor_id(request, data.validated_data.get("visitor_id") or ""),
        )
        message = services.feedback_record(
            message=message,
            rating=data.validated_data["rating"],
            comment=data.validated_data.get("comment", ""),
        )
        return Response(PublicFeedbackOutputSerializer(message).data)
