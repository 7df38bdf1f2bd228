from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.pagination import paginate
from api.views import OrgScopedAPIView

from . import selectors, services
from .serializers import BotInputSerializer, BotOutputSerializer


class BotListApi(OrgScopedAPIView):
    @extend_schema(responses=BotOutputSerializer(many=True))
    def get(self, request, org_id):
        return paginate(
            self, selectors.bot_list(org=self.org).select_related("created_by"), BotOutputSerializer
        )

    @extend_schema(request=BotInputSerializer, responses={201: BotOutputSerializer})
    def post(self, request, org_id):
        data = BotInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = services.bot_create(org=self.org, user=request.user, **data.validated_data)
        return Response(BotOutputSerializer(bot).data, status=status.HTTP_201_CREATED)


class BotDetailApi(OrgScopedAPIView):
    @extend_schema(responses=BotOutputSerializer)
    def get(self, request, org_id, bot_id):
        return Response(BotOutputSerializer(selectors.bot_get(org=self.org, bot_id=bot_id)).data)

    @extend_schema(request=BotInputSerializer, responses=BotOutputSerializer)
    def patch(self, request, org_id, bot_id):
        bot = selectors.bot_get(org=self.org, bot_id=bot_id)
        data = BotInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        bot = services.bot_update(bot=bot, user=request.user, data=data.validated_data)
        return Response(BotOutputSerializer(bot).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, bot_id):
        bot = selectors.bot_get(org=self.org, bot_id=bot_id)
        services.bot_delete(bot=bot, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
