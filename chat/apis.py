"""Chat endpoints: the builder's (org members), the public channel (website visitors) and the
server-to-server API (bot API keys)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import paginate
from api.views import BotScopedAPIView, OrgScopedAPIView
from documents.retrieval import retrieve
from tenants.models import Role

from . import ratelimit, selectors, services
from .models import BotApiKey, Channel, Conversation
from .serializers import (
    ApiKeyInputSerializer,
    ApiKeyOutputSerializer,
    ChatInputSerializer,
    ChatOutputSerializer,
    ConversationDetailSerializer,
    ConversationFilterSerializer,
    ConversationOutputSerializer,
    FeedbackInputSerializer,
    MessageOutputSerializer,
    PassageOutputSerializer,
    PublicBotSerializer,
    PublicChatInputSerializer,
    PublicConversationSerializer,
    PublicFeedbackInputSerializer,
    PublicFeedbackOutputSerializer,
    PublicMessageSerializer,
    SearchInputSerializer,
)

VIEWER_POSTS = {**OrgScopedAPIView.required_roles, "POST": Role.VIEWER}


def _sse(events: Iterator[tuple[str, dict[str, Any]]]) -> StreamingHttpResponse:
    def body():
        for name, data in events:
            yield f"event: {name}\ndata: {json.dumps(data)}\n\n"

    response = StreamingHttpResponse(body(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _limit(key: str, rate: str) -> None:
    retry_after = ratelimit.hit(key, rate)
    if retry_after:
        raise exceptions.Throttled(wait=retry_after, detail="Too many messages; please wait a moment.")


def _chat_response(*, stream: bool, public: bool = False, **kwargs: Any):
    """Run one chat turn as JSON or server-sent events. Shared by the three channels."""
    if stream:
        return _sse(services.chat_answer_stream(**kwargs))
    try:
        result = services.chat_answer(**kwargs)
    except services.ChatUnavailable as exc:
        detail = exc.public_message if public else str(exc.detail)
        return Response({"detail": detail, "message_id": exc.message_id}, status=exc.status_code)
    return Response(result.as_payload())


# --- Builder (org members) -------------------------------------------------------------------


class SearchApi(BotScopedAPIView):
    required_roles = VIEWER_POSTS

    @extend_schema(request=SearchInputSerializer, responses=PassageOutputSerializer(many=True))
    def post(self, request, org_id, bot_id):
        _limit(f"member:{request.user.pk}", settings.MEMBER_CHAT_RATE)
        data = SearchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passages = retrieve(
            bot=self.bot,
            query=data.validated_data["query"],
            top_k=data.validated_data.get("top_k"),
            document_ids=data.validated_data.get("document_ids"),
        )
        rows = [{**p.__dict__, "pages": p.pages, "heading_path": list(p.heading_path)} for p in passages]
        return Response(
            {
                "results": PassageOutputSerializer(rows, many=True).data,
                "relevance_threshold": self.bot.relevance_threshold,
            }
        )


class ChatApi(BotScopedAPIView):
    required_roles = VIEWER_POSTS

    @extend_schema(request=ChatInputSerializer, responses=ChatOutputSerializer)
    def post(self, request, org_id, bot_id):
        _limit(f"member:{request.user.pk}", settings.MEMBER_CHAT_RATE)
        data = ChatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _chat_response(
            stream=data.validated_data["stream"],
            bot=self.bot,
            message=data.validated_data["message"],
            conversation=selectors.conversation_to_continue(
                bot=self.bot,
                conversation_id=data.validated_data.get("conversation_id"),
                channel=Channel.BUILDER,
            ),
            channel=Channel.BUILDER,
            user=request.user,
        )


class ConversationListApi(BotScopedAPIView):
    @extend_schema(
        parameters=[ConversationFilterSerializer], responses=ConversationOutputSerializer(many=True)
    )
    def get(self, request, org_id, bot_id):
        filters = ConversationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.conversation_list(bot=self.bot, **filters.validated_data)
        return paginate(self, qs, ConversationOutputSerializer)


class ConversationDetailApi(BotScopedAPIView):
    @extend_schema(responses=ConversationDetailSerializer)
    def get(self, request, org_id, bot_id, conversation_id):
        conversation = selectors.conversation_get(bot=self.bot, conversation_id=conversation_id)
        messages = selectors.conversation_messages(conversation=conversation)
        body = ConversationOutputSerializer(conversation).data
        body["messages"] = MessageOutputSerializer(messages, many=True).data
        return Response(body)


class FeedbackApi(BotScopedAPIView):
    required_roles = VIEWER_POSTS

    @extend_schema(request=FeedbackInputSerializer, responses=MessageOutputSerializer)
    def post(self, request, org_id, bot_id, message_id):
        message = selectors.message_get(bot=self.bot, message_id=message_id)
        data = FeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.feedback_record(message=message, **data.validated_data)
        return Response(MessageOutputSerializer(message).data)


ADMIN_ONLY = {method: Role.ADMIN for method in ("GET", "HEAD", "OPTIONS", "POST", "DELETE")}


class ApiKeyListApi(BotScopedAPIView):
    required_roles = ADMIN_ONLY

    @extend_schema(responses=ApiKeyOutputSerializer(many=True))
    def get(self, request, org_id, bot_id):
        return paginate(self, selectors.api_key_list(bot=self.bot), ApiKeyOutputSerializer)

    @extend_schema(request=ApiKeyInputSerializer, responses={201: ApiKeyOutputSerializer})
    def post(self, request, org_id, bot_id):
        data = ApiKeyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = services.api_key_create(bot=self.bot, user=request.user, name=data.validated_data["name"])
        body = {**ApiKeyOutputSerializer(key).data, "key": raw}  # shown this once only
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(BotScopedAPIView):
    required_roles = ADMIN_ONLY

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, bot_id, key_id):
        key = selectors.api_key_get(bot=self.bot, key_id=key_id)
        services.api_key_revoke(key=key, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Server to server (bot API keys) ---------------------------------------------------------


class BotApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer bw_...` → (anonymous user, the BotApiKey)."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        key = services.api_key_authenticate(parts[1].decode("latin-1"))
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiChatApi(APIView):
    authentication_classes = [BotApiKeyAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(request=ChatInputSerializer, responses=ChatOutputSerializer)
    def post(self, request):
        key = request.auth
        if not isinstance(key, BotApiKey):
            raise exceptions.NotAuthenticated("Send Authorization: Bearer <bot API key>.")
        _limit(f"key:{key.pk}", settings.API_KEY_CHAT_RATE)
        data = ChatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _chat_response(
            stream=data.validated_data["stream"],
            bot=key.bot,
            message=data.validated_data["message"],
            conversation=selectors.conversation_to_continue(
                bot=key.bot, conversation_id=data.validated_data.get("conversation_id"), channel=Channel.API
            ),
            channel=Channel.API,
            api_key=key,
        )


# --- Public channel (website visitors, no login) ---------------------------------------------


class PublicAPIView(APIView):
    """Bot resolved from its public id; CORS answered per bot from its allowed origins.

    A browser request whose Origin is not one of the bot's allowed origins is refused (403) before
    anything runs. Requests without an Origin (server-side) are allowed and rate limited like any.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    allowed_methods_header = "GET, POST, OPTIONS"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.origin = request.headers.get("Origin", "")
        public_id = kwargs.get("public_id")
        self.bot = selectors.public_bot_get(public_id=public_id) if public_id else None

    def check_origin(self, bot) -> None:
        if self.origin and self.origin not in (bot.allowed_origins or []):
            raise exceptions.PermissionDenied(f"Origin {self.origin} is not allowed to use this bot.")

    def options(self, request, *args, **kwargs):
        if self.bot is not None:
            self.check_origin(self.bot)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Access-Control-Allow-Methods"] = self.allowed_methods_header
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        bot = getattr(self, "bot", None)
        origin = getattr(self, "origin", "")
        if bot is not None and origin and origin in (bot.allowed_origins or []):
            response["Access-Control-Allow-Origin"] = origin
            response["Vary"] = "Origin"
        return response

    def rate_limit(self, request, visitor_id: str) -> None:
        ip = (
            request.META.get("HTTP_X_FORWARDED_FOR", request.META.get("REMOTE_ADDR", ""))
            .split(",")[0]
            .strip()
        )
        checks = [
            (f"bot:{self.bot.pk}", settings.PUBLIC_CHAT_RATE_BOT),
            (f"visitor:{self.bot.pk}:{visitor_id or 'ip:' + ip}", settings.PUBLIC_CHAT_RATE_VISITOR),
            (f"ip:{self.bot.pk}:{ip}", settings.PUBLIC_CHAT_RATE_VISITOR),
        ]
        for key, rate in checks:
            retry_after = ratelimit.hit(key, rate)
            if retry_after:
                raise exceptions.Throttled(
                    wait=retry_after, detail="Too many messages; please wait a moment."
                )


class PublicBotApi(PublicAPIView):
    @extend_schema(responses=PublicBotSerializer)
    def get(self, request, public_id):
        self.check_origin(self.bot)
        return Response(
            {
                "public_id": self.bot.public_id,
                "name": self.bot.name,
                "greeting": self.bot.greeting,
                "is_active": self.bot.is_active,
            }
        )


class PublicChatApi(PublicAPIView):
    @extend_schema(request=PublicChatInputSerializer, responses=ChatOutputSerializer)
    def post(self, request, public_id):
        self.check_origin(self.bot)
        if not self.bot.is_active:
            raise exceptions.PermissionDenied("This bot is not active.")
        data = PublicChatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        visitor_id = data.validated_data.get("visitor_id") or ""
        self.rate_limit(request, visitor_id)
        conversation: Conversation | None = None
        if data.validated_data.get("conversation_id"):
            conversation = selectors.public_conversation_get(
                bot=self.bot, conversation_id=data.validated_data["conversation_id"], visitor_id=visitor_id
            )
        visitor_id = visitor_id or services.new_visitor_id()
        response = _chat_response(
            stream=data.validated_data["stream"],
            public=True,
            bot=self.bot,
            message=data.validated_data["message"],
            conversation=conversation,
            channel=Channel.PUBLIC,
            visitor_id=visitor_id,
        )
        if isinstance(response, Response) and response.status_code == 200:
            response.data["visitor_id"] = visitor_id
        else:
            response["X-Visitor-Id"] = visitor_id
        return response


class PublicConversationApi(PublicAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("visitor_id", str, required=True)],
        responses=PublicConversationSerializer,
    )
    def get(self, request, public_id, conversation_id):
        self.check_origin(self.bot)
        conversation = selectors.public_conversation_get(
            bot=self.bot,
            conversation_id=conversation_id,
            visitor_id=request.query_params.get("visitor_id", ""),
        )
        messages = selectors.conversation_messages(conversation=conversation)
        return Response(
            {"id": str(conversation.pk), "messages": PublicMessageSerializer(messages, many=True).data}
        )


class PublicFeedbackApi(PublicAPIView):
    @extend_schema(request=PublicFeedbackInputSerializer, responses=PublicFeedbackOutputSerializer)
    def post(self, request, message_id):
        data = PublicFeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = selectors.public_message_get(
            message_id=message_id, visitor_id=data.validated_data["visitor_id"]
        )
        self.bot = message.conversation.bot
        self.check_origin(self.bot)
        services.feedback_record(
            message=message,
            rating=data.validated_data["rating"],
            comment=data.validated_data.get("comment", ""),
        )
        return Response({"id": str(message.pk), "rating": message.rating})
