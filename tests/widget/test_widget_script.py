"""The widget script: a stable /widget.js in front of a versioned, long-cached file, and what the
file may and may not do (checked on its source; its behaviour is tested in Chromium)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from config.settings import base

WIDGET_SOURCE = Path(__file__).resolve().parents[2] / "chat" / "static" / "widget" / "widget.js"


def test_widget_js_redirects_briefly_to_the_widget_file(client):
    response = client.get("/widget.js")
    assert response.status_code == 302
    assert response["Location"] == "/static/widget/widget.js"
    assert response["Cache-Control"] == "public, max-age=300"
    assert client.post("/widget.js").status_code == 405


@pytest.mark.django_db
def test_the_versioned_file_is_served_by_whitenoise_with_a_year_of_caching(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "config.static.StaticFilesStorage"}}
    settings.MIDDLEWARE = base.MIDDLEWARE
    settings.DEBUG = False
    call_command(
        "collectstatic",
        interactive=False,
        verbosity=0,
        ignore_patterns=["admin", "rest_framework", "drf_spectacular_sidecar"],
    )
    client = Client()
    alias = client.get("/widget.js")
    assert alias.status_code == 302 and alias["Cache-Control"] == "public, max-age=300"
    location = alias["Location"]
    assert re.fullmatch(r"/static/widget/widget\.[0-9a-f]{12}\.js", location), location

    served = client.get(location, HTTP_ACCEPT_ENCODING="gzip")
    assert served.status_code == 200
    assert "immutable" in served["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", served["Cache-Control"]).group(1)) >= 365 * 24 * 3600
    assert served["Content-Type"].startswith("text/javascript")
    assert served["Content-Encoding"] == "gzip"
    body = b"".join(served.streaming_content)
    assert gzip.decompress(body) == WIDGET_SOURCE.read_bytes()


def test_the_widget_is_small_and_never_parses_server_text_as_html():
    source = WIDGET_SOURCE.read_text()
    assert len(source.encode()) < 48 * 1024 and len(gzip.compress(source.encode())) < 14 * 1024
    # The only ways text becomes markup in a browser; the widget builds elements instead.
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, sink
    # The visitor token goes in a header, never in a URL; cookies never ride along.
    assert '"X-Visitor-Id"' in source and "visitor_id=" not in source
    assert source.count('credentials: "omit"') == 1  # the one fetch wrapper
    assert source.count("fetch(") == 1
    assert 'rel: "noopener nofollow"' in source
