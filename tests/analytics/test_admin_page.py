"""The admin analytics page: charts render server-side, unanswered questions resolve, exports stream."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from analytics import charts
from analytics.models import UnansweredQuestion
from chat.models import Channel
from chat.services import chat_answer, new_visitor_id
from tests.factories import make_user


def test_charts_are_valid_svg_with_gaps_and_escaped_text():
    labels = ["2026-01-01", "2026-01-02", "2026-01-03"]
    bars = charts.stacked_bars("Q <per> day", labels, {"builder": [1, 0, 3], "public": [2, 0, 1]})
    root = ET.fromstring(bars)
    assert root.tag.endswith("svg") and "Q &lt;per&gt; day" in bars
    assert len([e for e in root.iter() if e.tag.endswith("rect") and e.get("height")]) >= 4
    line = charts.line("rate", labels, [50.0, None, 25.0], "%", 100)
    ET.fromstring(line)
    assert line.count("<polyline") == 2  # the missing day splits the line
    assert "2026-01-01" in line and "2026-01-03" in line


@pytest.mark.django_db
def test_admin_page_shows_charts_and_resolves_a_question(kb_bot, client, django_capture_on_commit_callbacks):
    staff = make_user("ops@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    chat_answer(
        bot=kb_bot, message="Do you deliver abroad?", channel=Channel.PUBLIC, visitor_id=new_visitor_id()
    )
    chat_answer(
        bot=kb_bot, message="When does the office open?", channel=Channel.PUBLIC, visitor_id=new_visitor_id()
    )
    url = reverse("admin:analytics_dailymetrics_changelist")
    page = client.get(url, {"org": kb_bot.org_id})
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        html.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox') == 6
        and "Do you deliver abroad?" in html
    )
    assert "cdn" not in html.lower() and '<script src="http' not in html
    group = UnansweredQuestion.objects.for_org(kb_bot.org).get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:analytics_review", args=[group.pk, "resolve"]),
            {"answer": "Yes, within 5 working days.", "next": f"org={kb_bot.org_id}"},
        )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.status == "resolved" and group.document is not None
    export = client.get(reverse("admin:analytics_export", args=["messages"]), {"org": kb_bot.org_id})
    assert b"".join(export.streaming_content).decode().startswith("org_id,message_id")


@pytest.mark.django_db
def test_admin_page_needs_staff(client, kb_bot):
    client.force_login(make_user("someone@example.com"))
    response = client.get(reverse("admin:analytics_dailymetrics_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]
