from django.urls import path

from . import apis, public_apis, server_apis

# Under /api/orgs/<org_id>/bots/<bot_id>/
builder_urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="bot-search"),
    path("chat/", apis.ChatApi.as_view(), name="bot-chat"),
    path("conversations/", apis.ConversationListApi.as_view(), name="conversation-list"),
    path(
        "conversations/<uuid:conversation_id>/",
        apis.ConversationDetailApi.as_view(),
        name="conversation-detail",
    ),
    path("messages/<uuid:message_id>/feedback/", apis.FeedbackApi.as_view(), name="message-feedback"),
    path("api-keys/", apis.ApiKeyListApi.as_view(), name="api-key-list"),
    path("api-keys/<uuid:key_id>/", apis.ApiKeyDetailApi.as_view(), name="api-key-detail"),
]

# Under /api/public/
public_urlpatterns = [
    path("bots/<str:public_id>/", public_apis.PublicBotApi.as_view(), name="public-bot"),
    path("bots/<str:public_id>/avatar/", public_apis.PublicBotAvatarApi.as_view(), name="public-bot-avatar"),
    path("bots/<str:public_id>/chat/", public_apis.PublicChatApi.as_view(), name="public-chat"),
    path(
        "bots/<str:public_id>/conversations/<uuid:conversation_id>/",
        public_apis.PublicConversationApi.as_view(),
        name="public-conversation",
    ),
    path(
        "messages/<uuid:message_id>/feedback/",
        public_apis.PublicFeedbackApi.as_view(),
        name="public-feedback",
    ),
]

# Under /api/v1/ (bot API keys)
server_urlpatterns = [
    path("chat/", server_apis.ApiChatApi.as_view(), name="api-chat"),
]
