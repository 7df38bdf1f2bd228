"""How one chat turn becomes an HTTP response — JSON or server-sent events — for all three channels.

The service answers with domain objects (``ChatResult``, ``ChatUnavailable``); this edge renders
them with the channel's output serializer and decides what the caller may see: on anonymous
channels an error is always ``ChatUnavailable.for_visitors()``, in the JSON body and in the stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from api.exception_handlers import exception_handler
from tenants.errors import QuotaExceeded, Unavailable

from . import selectors, services
from .serializers import ChatOutputSerializer

SSE_DESCRIPTION = (
    'With `"stream": true` the answer is `text/event-stream`: `token` events `{"text"}` with the '
    "answer's pieces, then either `done` (the same body as the JSON answer) or `error` (the error "
    "shape, with `message_id`; text already streamed is withdrawn)."
)


def chat_answer_responses(output: type[Serializer]) -> dict[Any, Any]:
    """A chat endpoint's 200 in OpenAPI: the JSON answer, or the same turn as server-sent events."""
    return {
        (200, "application/json"): output,
        (200, "text/event-stream"): OpenApiResponse(response=OpenApiTypes.STR, description=SSE_DESCRIPTION),
    }


def _visible(error: services.ChatUnavailable, *, public: bool):
    return error.for_visitors() if public else error


def _event_data(name: str, data: Any, *, output: type[Serializer], public: bool) -> Any:
    if name == "done":
        return output(data).data
    if name == "error":
        # The API edge's own error body, so a streamed error has the JSON error's shape.
        return exception_handler(_visible(data, public=public), {}).data
    return data


def sse(
    events: Iterator[tuple[str, Any]], *, output: type[Serializer], public: bool
) -> StreamingHttpResponse:
    def body() -> Iterator[str]:
        for name, data in events:
            payload = _event_data(name, data, output=output, public=public)
            yield f"event: {name}\ndata: {json.dumps(payload, cls=DjangoJSONEncoder)}\n\n"

    response = StreamingHttpResponse(body(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


# What an anonymous visitor learns when the bot's organisation has spent a quota: nothing about the
# organisation's numbers, the widget's own "can't answer right now" (it shows its text for a 503).
QUOTA_VISITOR_MESSAGE = "The assistant can't answer right now. Please try again later."


def chat_response(*, stream: bool, output: type[Serializer], public: bool = False, **turn: Any):
    """Run one chat turn (``services.chat_answer`` keyword arguments) and answer it."""
    try:
        if stream:
            return sse(services.chat_answer_stream(**turn), output=output, public=public)
        result = services.chat_answer(**turn)
    except services.ChatUnavailable as exc:
        if public:
            raise exc.for_visitors() from exc
        raise
    except QuotaExceeded as exc:
        if public:
            raise Unavailable(QUOTA_VISITOR_MESSAGE) from exc
        raise
    return Response(output(result).data)


def continue_or_start(*, bot: Any, channel: str, data: dict[str, Any], **caller: Any):
    """A signed-in channel's turn (builder, API key): continue ``data``'s conversation of `bot` on
    `channel` (404 for anyone else's) or start one. ``caller`` is ``user=`` or ``api_key=``."""
    conversation = selectors.conversation_to_continue(
        bot=bot, conversation_id=data.get("conversation_id"), channel=channel
    )
    return chat_response(
        stream=data["stream"],
        output=ChatOutputSerializer,
        bot=bot,
        message=data["message"],
        conversation=conversation,
        channel=channel,
        **caller,
    )
