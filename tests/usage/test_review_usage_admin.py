"""The admin's usage review tells the gateway's own counts from our estimates."""

import csv
import io
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


def test_cost_by_member_adds_up_to_the_total_past_twenty_members(admin_client, django_user_model):
    """Only the twenty costliest members get a row; the others were left out
    unsaid, and the column came to less than the total above it."""
    for number in range(23):
        member = django_user_model.objects.create_user(f"member{number:02}")
        UsageRecord.objects.create(
            user=member,
            provider="sim",
            model="o4-mini",
            outcome=Outcome.COMPLETE,
            cost=Decimal("0.01") * (number + 1),
        )

    page = parse(admin_client.get(REVIEW).content.decode())
    by_member = page.find("table", aria_label="Cost by member")
    rows = [[td.visible_text for td in tr.find_all("td")] for tr in by_member.find_all("tr")][1:]

    assert len(rows) == 21
    assert rows[0] == ["member22", "1", "0.2300"]
    assert rows[-1] == ["3 other members", "3", "0.0600"]
    assert sum(Decimal(cost) for *_, cost in rows) == Decimal("2.7600")


def test_the_csv_export_lists_the_records_and_no_cell_is_a_formula(admin_client, alice):
    """Model ids can come from a gateway's own list: a spreadsheet opening the
    export must show ``=HYPERLINK(…)`` as text, not run it (OWASP's CSV injection)."""
    plain = UsageRecord.objects.create(
        user=alice,
        provider="AI/ML API",
        model="o4-mini",
        outcome=Outcome.COMPLETE,
        prompt_tokens=100,
        completion_tokens=40,
        cost=Decimal("0.000286"),
    )
    hostile = UsageRecord.objects.create(
        user=alice,
        provider="+gateway",
        model='=HYPERLINK("http://example.com","x")',
        outcome=Outcome.COMPLETE,
        prompt_tokens=1,
        completion_tokens=1,
        cost=Decimal("0"),
    )

    response = admin_client.post(
        REVIEW,
        {"action": "export_csv", "_selected_action": [plain.pk, hostile.pk]},
    )

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["provider"], row["model"]) for row in rows] == [
        ("AI/ML API", "o4-mini"),
        ("'+gateway", '\'=HYPERLINK("http://example.com","x")'),
    ]
    assert rows[0]["user__username"] == "alice"
    assert (rows[0]["prompt_tokens"], rows[0]["cost"]) == ("100", "0.000286")
