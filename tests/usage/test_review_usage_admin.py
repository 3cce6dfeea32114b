"""The admin's usage review tells the gateway's own counts from our estimates."""

from decimal import Decimal

import pytest

from chatapp.usage.models import Outcome, UsageRecord
from tests.chat.dom import parse

pytestmark = pytest.mark.django_db

REVIEW = "/admin/usage/usagerecord/"


def test_estimated_usage_can_be_told_apart_and_filtered(admin_client, alice, bob):
    UsageRecord.objects.create(
        user=alice,
        provider="sim",
        model="o4-mini",
        outcome=Outcome.INTERRUPTED,
        prompt_tokens=100,
        completion_tokens=40,
        cost=Decimal("0.000286"),
        estimated=True,
    )
    UsageRecord.objects.create(
        user=bob,
        provider="sim",
        model="o4-mini",
        outcome=Outcome.COMPLETE,
        prompt_tokens=200,
        completion_tokens=80,
        cost=Decimal("0.000572"),
    )

    page = parse(admin_client.get(REVIEW).content.decode())
    headers = [th.visible_text for th in page.by_id("result_list").find_all("th", scope="col")]
    assert "Estimated" in headers
    filters = page.by_id("changelist-filter").find_all("a")
    only_estimated = [a.get("href") for a in filters if "estimated__exact=1" in a.get("href")]
    assert only_estimated, "no filter for estimated usage"

    response = admin_client.get(REVIEW + only_estimated[0])
    assert response.status_code == 200
    assert response.context_data["totals"]["completions"] == 1
    assert response.context_data["totals"]["cost"] == Decimal("0.000286")


def test_answers_sent_without_an_effort_have_a_filter_one_can_click(admin_client, alice):
    """o1-mini takes no reasoning effort: its records' effort is blank, and the
    filter offered them as a link with no text, which nobody could see or click."""
    UsageRecord.objects.create(
        user=alice, provider="sim", model="o1-mini", outcome=Outcome.COMPLETE, cost=Decimal("0.01")
    )
    UsageRecord.objects.create(
        user=alice,
        provider="sim",
        model="o4-mini",
        reasoning_effort="high",
        outcome=Outcome.COMPLETE,
        cost=Decimal("0.02"),
    )

    page = parse(admin_client.get(REVIEW).content.decode())
    effort_filter = next(
        details
        for details in page.by_id("changelist-filter").find_all("details")
        if details.get("data-filter-title") == "reasoning effort"
    )
    links = {a.visible_text: a.get("href") for a in effort_filter.find_all("a")}
    assert "" not in links
    # Shown as the list shows a blank effort.
    assert set(links) == {"All", "-", "high"}

    response = admin_client.get(REVIEW + links["-"])
    assert response.context_data["totals"]["completions"] == 1
    assert response.context_data["totals"]["cost"] == Decimal("0.01")

    with_counts = parse(admin_client.get(REVIEW + "?_facets=True").content.decode())
    assert "- (1)" in with_counts.by_id("changelist-filter").visible_text
