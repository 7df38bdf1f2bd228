"""Server-rendered pages and files: a landing page, the website widget's script and its demo page."""

from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from bots.embed import embed_snippet
from bots.origins import normalize_origin

from .selectors import public_bot_get

WIDGET_STATIC_PATH = "widget/widget.js"
# How long browsers keep the stable /widget.js redirect: a release reaches every site within this.
WIDGET_ALIAS_CACHE_S = 300


def home(request):
    return render(request, "home.html")


@require_safe
def widget_script(request):
    """The stable ``/widget.js`` that snippets name: a short-lived redirect to the versioned file
    (``widget.<hash>.js``), which WhiteNoise serves with a year of immutable caching."""
    response = HttpResponseRedirect(staticfiles_storage.url(WIDGET_STATIC_PATH))
    response["Cache-Control"] = f"public, max-age={WIDGET_ALIAS_CACHE_S}"
    return response


def widget_demo(request, public_id: str):
    """A page that embeds the bot exactly as a customer's website does: the snippet, nothing else."""
    bot = public_bot_get(public_id=public_id)
    if not bot.is_active:
        raise Http404("This bot is not active.")
    try:
        origin = normalize_origin(f"{request.scheme}://{request.get_host()}")
    except ValueError:  # plain http on a public host: never an allowed origin
        origin = f"{request.scheme}://{request.get_host()}"
    context = {
        "bot": bot,
        # format_html built it: every interpolated value is escaped.
        "snippet": mark_safe(embed_snippet(bot=bot, request=request)),  # noqa: S308
        "origin": origin,
        "origin_allowed": origin in (bot.allowed_origins or []),
    }
    return render(request, "chat/widget_demo.html", context)
