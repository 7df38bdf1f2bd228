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
from api.schema import error_responses, paginated
from api.serializers import PAGE_PARAMETERS, PageQuerySerializer
from api.views import BotScopedAPIView, OrgScopedAPIView
from documents.retrieval import retrieve
from tenants.models import Role

from . import ratelimit, selectors, services
from .models import Channel
from .responses import SSE_DESCRIPTION, chat_answer_responses, continue_or_start
from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyInputSerializer,
    ApiKeyOutputSerializer,
    ChatInputSerializer,
    ChatOutputSerializer,
    ConversationDetailSerializer,
    ConversationFilterSerializer,
    ConversationOutputSerializer,
    FeedbackInputSerializer,
    MessageOutputSerializer,
    SearchInputSerializer,
    SearchOutputSerializer,
)

VIEWER_POSTS = {**OrgScopedAPIView.required_roles, "POST": Role.VIEWER}
ADMIN_ONLY = {method: Role.ADMIN for method in ("GET", "HEAD", "OPTIONS", "POST", "DELETE")}


class BuilderAPIView(BotScopedAPIView):
    parser_classes = [JSONParser]


class SearchApi(BuilderAPIView):
    required_roles = VIEWER_POSTS

    @extend_schema(
        request=SearchInputSerializer,
        responses={200: SearchOutputSerializer, **error_responses(429)},
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
            **error_responses(402, 429, 503),
        },
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
    query_serializer = ConversationFilterSerializer

    @extend_schema(
        operation_id="orgs_bots_conversations_list", responses=paginated(ConversationOutputSerializer)
    )
    def get(self, request, org_id, bot_id):
        filters = {k: v for k, v in self.query.items() if k not in PAGE_PARAMETERS}
        qs = selectors.conversation_list(bot=self.bot, **filters)
        return paginate(self, qs, ConversationOutputSerializer)


class ConversationDetailApi(BuilderAPIView):
    @extend_schema(responses=ConversationDetailSerializer)
    def get(self, request, org_id, bot_id, conversation_id):
        conversation = selectors.conversation_with_messages(bot=self.bot, conversation_id=conversation_id)
        return Response(ConversationDetailSerializer(conversation).data)


class FeedbackApi(BuilderAPIView):
    required_roles = VIEWER_POSTS

    @extend_schema(
        request=FeedbackInputSerializer,
        responses=MessageOutputSerializer,
    )
    def post(self, request, org_id, bot_id, message_id):
        message = selectors.message_get(bot=self.bot, message_id=message_id)
        data = FeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.feedback_record(message=message, **data.validated_data)
        return Response(MessageOutputSerializer(message).data)


class ApiKeyListApi(BuilderAPIView):
    required_roles = ADMIN_ONLY
    query_serializer = PageQuerySerializer

    @extend_schema(operation_id="orgs_bots_api_keys_list", responses=paginated(ApiKeyOutputSerializer))
    def get(self, request, org_id, bot_id):
        return paginate(self, selectors.api_key_list(bot=self.bot), ApiKeyOutputSerializer)

    @extend_schema(
        request=ApiKeyInputSerializer,
        responses={201: ApiKeyCreatedSerializer},
    )
    def post(self, request, org_id, bot_id):
        data = ApiKeyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = services.api_key_create(bot=self.bot, user=request.user, name=data.validated_data["name"])
        body = ApiKeyCreatedSerializer(key, context={"raw_key": raw}).data  # the raw key: this once only
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(BuilderAPIView):
    required_roles = ADMIN_ONLY

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, bot_id, key_id):
        key = selectors.api_key_get(bot=self.bot, key_id=key_id)
        services.api_key_revoke(key=key, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
