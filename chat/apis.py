"""The builder's chat endpoints (org members) under /api/orgs/<org>/bots/<bot>/: search, chat,
conversations, feedback and the bot's API keys.

The other two channels live beside this one: the public channel for website visitors in
``public_apis.py`` (CORS in ``cors.py``) and the server-to-server channel in ``server_apis.py``
(bot API keys, authenticated by ``authentication.py``). How a chat turn becomes a response is shared
by all three (``responses.py``).
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.pagination import paginate
from api.parsers import JSONParser
from api.views import BotScopedAPIView, OrgScopedAPIView
from documents.retrieval import retrieve
from tenants.models import Role

from . import ratelimit, selectors, services
from .models import Channel
from .responses import RETRY_AFTER, SSE_DESCRIPTION, chat_answer_responses, continue_or_start
from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyInputSerializer,
    ApiKeyOutputSerializer,
    ApiKeyPageSerializer,
    ChatInputSerializer,
    ChatOutputSerializer,
    ConversationDetailSerializer,
    ConversationFilterSerializer,
    ConversationOutputSerializer,
    ConversationPageSerializer,
    FeedbackInputSerializer,
    MessageOutputSerializer,
    SearchInputSerializer,
    SearchOutputSerializer,
    error_responses,
)

VIEWER_POSTS = {**OrgScopedAPIView.required_roles, "POST": Role.VIEWER}
ADMIN_ONLY = {method: Role.ADMIN for method in ("GET", "HEAD", "OPTIONS", "POST", "DELETE")}


class BuilderAPIView(BotScopedAPIView):
    parser_classes = [JSONParser]


class SearchApi(BuilderAPIView):
    required_roles = VIEWER_POSTS

    @extend_schema(
        request=SearchInputSerializer,
        responses={200: SearchOutputSerializer, **error_responses(400, 401, 403, 404, 413, 415, 429)},
        parameters=[RETRY_AFTER],
    )
    def post(self, request, org_id, bot_id):
        ratelimit.check(f"member:{request.user.pk}", settings.MEMBER_CHAT_RATE, limit="member")
        data = SearchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passages = retrieve(
            bot=self.bot,
            query=data.validated_data["query"],
            top_k=data.validated_data.get("top_k"),
            document_ids=data.validated_data.get("document_ids"),
        )
        found = {"results": passages, "relevance_threshold": self.bot.relevance_threshold}
        return Response(SearchOutputSerializer(found).data)


class ChatApi(BuilderAPIView):
    required_roles = VIEWER_POSTS

    @extend_schema(
        request=ChatInputSerializer,
        responses={
            **chat_answer_responses(ChatOutputSerializer),
            **error_responses(400, 401, 403, 404, 413, 415, 429, 503),
        },
        parameters=[RETRY_AFTER],
        description=SSE_DESCRIPTION,
    )
    def post(self, request, org_id, bot_id):
        ratelimit.check(f"member:{request.user.pk}", settings.MEMBER_CHAT_RATE, limit="member")
        data = ChatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return continue_or_start(
            bot=self.bot, channel=Channel.BUILDER, data=data.validated_data, user=request.user
        )


class ConversationListApi(BuilderAPIView):
    @extend_schema(
        operation_id="orgs_bots_conversations_list",
        parameters=[ConversationFilterSerializer],
        responses={200: ConversationPageSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request, org_id, bot_id):
        filters = ConversationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.conversation_list(bot=self.bot, **filters.validated_data)
        return paginate(self, qs, ConversationOutputSerializer)


class ConversationDetailApi(BuilderAPIView):
    @extend_schema(responses={200: ConversationDetailSerializer, **error_responses(401, 404)})
    def get(self, request, org_id, bot_id, conversation_id):
        conversation = selectors.conversation_with_messages(bot=self.bot, conversation_id=conversation_id)
        return Response(ConversationDetailSerializer(conversation).data)


class FeedbackApi(BuilderAPIView):
    required_roles = VIEWER_POSTS

    @extend_schema(
        request=FeedbackInputSerializer,
        responses={200: MessageOutputSerializer, **error_responses(400, 401, 403, 404, 413, 415)},
    )
    def post(self, request, org_id, bot_id, message_id):
        message = selectors.message_get(bot=self.bot, message_id=message_id)
        data = FeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.feedback_record(message=message, **data.validated_data)
        return Response(MessageOutputSerializer(message).data)


class ApiKeyListApi(BuilderAPIView):
    required_roles = ADMIN_ONLY

    @extend_schema(
        operation_id="orgs_bots_api_keys_list",
        responses={200: ApiKeyPageSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, org_id, bot_id):
        return paginate(self, selectors.api_key_list(bot=self.bot), ApiKeyOutputSerializer)

    @extend_schema(
        request=ApiKeyInputSerializer,
        responses={201: ApiKeyCreatedSerializer, **error_responses(400, 401, 403, 404, 413, 415)},
    )
    def post(self, request, org_id, bot_id):
        data = ApiKeyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = services.api_key_create(bot=self.bot, user=request.user, name=data.validated_data["name"])
        body = ApiKeyCreatedSerializer(key, context={"raw_key": raw}).data  # the raw key: this once only
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(BuilderAPIView):
    required_roles = ADMIN_ONLY

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, org_id, bot_id, key_id):
        key = selectors.api_key_get(bot=self.bot, key_id=key_id)
        services.api_key_revoke(key=key, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
