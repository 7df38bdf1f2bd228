"""Server-rendered pages: a landing page and the website-widget demo for a bot's public channel."""

from django.http import Http404
from django.shortcuts import render

from .selectors import public_bot_get


def home(request):
    return render(request, "home.html")


def widget_demo(request, public_id: str):
    """A page that embeds the chat the way a customer's website would: through the public API only."""
    bot = public_bot_get(public_id=public_id)
    if not bot.is_active:
        raise Http404("This bot is not active.")
    return render(request, "chat/widget_demo.html", {"bot": bot})
