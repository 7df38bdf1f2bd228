from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from api.pagination import paginate
from api.schema import error_responses, paginated
from api.serializers import PageQuerySerializer
from api.views import BotScopedAPIView, OrgScopedAPIView

from . import selectors, services
from .serializers import BotAvatarInputSerializer, BotInputSerializer, BotOutputSerializer


def _bot_body(bot, request) -> dict:
    return BotOutputSerializer(bot, context={"request": request}).data


class BotListApi(OrgScopedAPIView):
    query_serializer = PageQuerySerializer

    @extend_schema(responses=paginated(BotOutputSerializer))
    def get(self, request, org_id):
        return paginate(
            self, selectors.bot_list(org=self.org).select_related("created_by"), BotOutputSerializer
        )

    @extend_schema(request=BotInputSerializer, responses={201: BotOutputSerializer, **error_responses(402)})
    def post(self, request, org_id):
        data = BotInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = services.bot_create(org=self.org, user=request.user, **data.validated_data)
        return Response(_bot_body(bot, request), status=status.HTTP_201_CREATED)


class BotDetailApi(OrgScopedAPIView):
    @extend_schema(responses=BotOutputSerializer)
    def get(self, request, org_id, bot_id):
        return Response(_bot_body(selectors.bot_get(org=self.org, bot_id=bot_id), request))

    @extend_schema(request=BotInputSerializer, responses=BotOutputSerializer)
    def patch(self, request, org_id, bot_id):
        bot = selectors.bot_get(org=self.org, bot_id=bot_id)
        data = BotInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        bot = services.bot_update(bot=bot, user=request.user, data=data.validated_data)
        return Response(_bot_body(bot, request))

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, bot_id):
        bot = selectors.bot_get(org=self.org, bot_id=bot_id)
        services.bot_delete(bot=bot, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BotAvatarApi(BotScopedAPIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": BotAvatarInputSerializer},
        responses=BotOutputSerializer,
        description="Set the widget's avatar image (type sniffed from the bytes; SVG is refused): 400 "
        "empty or too many pixels, 413 too large, 415 not a PNG, JPEG, WebP or GIF.",
    )
    def put(self, request, org_id, bot_id):
        data = BotAvatarInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        bot = services.bot_avatar_set(bot=self.bot, user=request.user, data=upload.read())
        return Response(_bot_body(bot, request))

    @extend_schema(
        responses={200: BotOutputSerializer}, description="Remove the avatar: the widget shows initials."
    )
    def delete(self, request, org_id, bot_id):
        return Response(_bot_body(services.bot_avatar_clear(bot=self.bot, user=request.user), request))
