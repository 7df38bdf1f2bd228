from django.urls import path

from . import apis

urlpatterns = [
    path("", apis.BotListApi.as_view(), name="bot-list"),
    path("<uuid:bot_id>/", apis.BotDetailApi.as_view(), name="bot-detail"),
    path("<uuid:bot_id>/avatar/", apis.BotAvatarApi.as_view(), name="bot-avatar"),
]
