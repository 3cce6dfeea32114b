"""An adversarial review of usage accounting and its admin pages.

Costs are frozen as stored and add up, only admins see them, bad filters say
so, the export is bounded and readable, and the tables can be navigated.
"""

import csv
import io
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chatapp.chat.generation import usage_record
from chatapp.gateways.models import ModelOffering, Provider
from chatapp.gateways.registry import Route
from chatapp.providers import family_for
from chatapp.providers.catalog import Prices
from chatapp.providers.events import Usage
from chatapp.usage import admin as usage_admin
from chatapp.usage.models import Outcome, UsageRecord
from tests.chat.dom import parse

pytestmark = pytest.mark.django_db

REVIEW = "/admin/usage/usagerecord/"
# OpenAI's list prices for o4-mini, per million tokens.
O4_MINI = Prices(Decimal("1.10"), Decimal("0.275"), Decimal("4.40"))


def record(user, **fields) -> UsageRecord:
    fields.setdefault("provider", "sim")
    fields.setdefault("model", "o4-mini")
    fields.setdefault("outcome", Outcome.COMPLETE)
    return UsageRecord.objects.create(user=user, **fields)


def priced(user, usage: Usage, prices: Prices = O4_MINI) -> UsageRecord:
    """A row as the generation writes it (``generation.usage_record``), saved."""
    route = Route(
        endpoint=SimpleNamespace(name="Gateway"),
        model_id="o4-mini",
        family=family_for("o4-mini"),
        prices=prices,
    )
    row = usage_record(
        SimpleNamespace(owner_id=user.pk, pk=None),
        SimpleNamespace(pk=None, reasoning_effort="low", provider="", model=""),
        route,
        usage,
        Outcome.COMPLETE,
        time_to_first_token_ms=None,
        duration_ms=0,
    )
    row.save()
    return row


# prompt (of which cached), completion (of which reasoning), and the stored cost.
COSTS = [
    pytest.param(1_000_000, 0, 0, 0, "1.100000", id="per million input tokens"),
    pytest.param(1_000, 400, 0, 0, "0.000770", id="cached input at the cached price"),
    pytest.param(0, 0, 500, 300, "0.002200", id="reasoning billed once, inside output"),
    pytest.param(1_235, 0, 0, 0, "0.001358", id="half a micro-dollar rounds to even"),
    pytest.param(1_235, 1_000, 7, 0, "0.000564", id="below a micro-dollar"),
]


@pytest.mark.parametrize(("prompt", "cached", "completion", "reasoning", "cost"), COSTS)
def test_the_cost_stored_is_the_cost_read_back(alice, prompt, cached, completion, reasoning, cost):
    """What the row holds after saving is what the database keeps: six places,
    the same on SQLite (which kept every digit) and PostgreSQL (which rounds)."""
    usage = Usage(
        prompt_tokens=prompt,
        cached_tokens=cached,
        completion_tokens=completion,
        reasoning_tokens=reasoning,
    )
    row = priced(alice, usage)

    assert row.cost == Decimal(cost)
    assert str(row.cost) == cost
    row.refresh_from_db()
    assert row.cost == Decimal(cost)


def test_the_totals_are_the_sum_of_the_rows_shown(admin_client, alice, bob):
    """Every row is shown (and exported) to six places; the total summed what
    SQLite kept of each, digits nobody sees, and came to another figure."""
    for user, prompt in [(alice, 1_235), (alice, 3_001), (bob, 77_777)]:
        priced(user, Usage(prompt_tokens=prompt, cached_tokens=prompt // 3, completion_tokens=7))
    shown = [row.cost for row in UsageRecord.objects.all()]

    context = admin_client.get(REVIEW).context_data

    assert context["totals"]["cost"] == sum(shown)
    assert sum(row["cost"] for row in context["by_member"]) == sum(shown)
    assert sum(row["cost"] for row in context["by_model"]) == sum(shown)


def test_a_cost_is_not_repriced_when_the_gateway_changes_its_prices(admin_client, alice):
    gateway = Provider.objects.create(name="Gateway", base_url="http://127.0.0.1:9/v1")
    offering = ModelOffering.objects.create(
        provider=gateway, model_id="o4-mini", input_price=Decimal("1.10")
    )
    priced(alice, Usage(prompt_tokens=1_000_000), offering.prices())

    offering.input_price = Decimal("99")
    offering.save()

    assert admin_client.get(REVIEW).context_data["totals"]["cost"] == Decimal("1.1")


# Who asks for what: none of them may see anyone's usage.
@pytest.mark.parametrize("who", ["anonymous", "member", "staff without the permission"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", REVIEW), ("get", REVIEW + "{pk}/change/"), ("post", REVIEW)],
    ids=["list", "record", "export"],
)
def test_only_admins_see_usage(client, django_user_model, alice, who, method, path):
    row = record(alice, cost=Decimal("0.5"))
    if who == "member":
        client.force_login(alice)
    elif who != "anonymous":
        client.force_login(django_user_model.objects.create_user("clerk", is_staff=True))
    data = {"action": "export_csv", "_selected_action": [row.pk]} if method == "post" else None

    response = getattr(client, method)(path.format(pk=row.pk), data)

    if who == "staff without the permission":
        assert response.status_code == 403
    else:
        assert response.status_code == 302
        assert "/login/?next=" in response["Location"]
    assert b"alice" not in response.content
    assert not response["Content-Type"].startswith("text/csv")


def test_a_staff_member_with_the_view_permission_sees_the_review(client, django_user_model, alice):
    record(alice, cost=Decimal("0.5"))
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_usagerecord"))
    client.force_login(clerk)

    response = client.get(REVIEW)

    assert response.status_code == 200
    assert response.context_data["totals"]["cost"] == Decimal("0.5")


def test_usage_records_cannot_be_deleted_from_the_review(admin_client, alice):
    """The bill is what it is: a row deleted in the admin vanished from every
    total, the action offered next to the export."""
    row = record(alice, cost=Decimal("0.5"))

    actions = admin_client.get(REVIEW).context_data["action_form"].fields["action"].choices
    assert "delete_selected" not in dict(actions)
    admin_client.post(REVIEW, {"action": "delete_selected", "_selected_action": [row.pk]})
    admin_client.post(
        REVIEW, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )
    assert admin_client.get(REVIEW + f"{row.pk}/delete/").status_code == 403
    admin_client.post(REVIEW + f"{row.pk}/delete/", {"post": "yes"})

    assert UsageRecord.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    "query",
    [
        "created_at__gte=garbage",
        "created_at__lt=2026-13-01",
        "created_at__gte=2026-02-30",
        "created_at__year=abc",
        "created_at__year=2026&created_at__month=2&created_at__day=40",
        "estimated__exact=maybe",
        "user__id__exact=abc",
    ],
)
def test_a_filter_that_cannot_be_read_says_so(admin_client, alice, query):
    """Django drops such filters and shows every record: the totals then looked
    like those of the dates asked for."""
    record(alice, cost=Decimal("0.5"))

    response = admin_client.get(f"{REVIEW}?{query}", follow=True)

    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert any("could not be read" in message for message in messages), messages
    assert "could not be read" in parse(response.content.decode()).visible_text


def test_an_empty_date_range_shows_zero_totals(admin_client, alice):
    record(alice, cost=Decimal("0.5"))

    # As the date filter's own links write them: aware, in the current time zone.
    dates = {
        "created_at__gte": "2020-01-01 00:00:00+00:00",
        "created_at__lt": "2020-01-02 00:00:00+00:00",
    }

    response = admin_client.get(f"{REVIEW}?{urlencode(dates)}")

    assert response.status_code == 200
    assert response.context_data["totals"]["completions"] == 0
    assert not list(response.context["messages"])


def test_the_export_says_its_encoding(admin_client, django_user_model):
    """Usernames may be any letters: without a charset the bytes were guessed."""
    member = django_user_model.objects.create_user("zoë")
    row = record(member, model="o4-mini", cost=Decimal("0.25"))

    response = admin_client.post(REVIEW, {"action": "export_csv", "_selected_action": [row.pk]})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert [(r["user__username"], r["cost"]) for r in rows] == [("zoë", "0.250000")]


@pytest.mark.parametrize(("selected", "exported"), [(2, True), (3, False)])
def test_the_export_is_bounded(admin_client, alice, monkeypatch, selected, exported):
    """The whole export is built in memory: past the bound, narrow the filters."""
    monkeypatch.setattr(usage_admin, "EXPORT_LIMIT", 2)
    rows = [record(alice, cost=Decimal("0.1")) for _ in range(selected)]

    response = admin_client.post(
        REVIEW,
        {"action": "export_csv", "_selected_action": [row.pk for row in rows]},
        follow=True,
    )

    if exported:
        assert response["Content-Type"].startswith("text/csv")
        assert len(response.content.decode().splitlines()) == 1 + selected
    else:
        assert response["Content-Type"].startswith("text/html")
        messages = [str(message) for message in response.context["messages"]]
        assert any("at most 2" in message for message in messages), messages


def test_every_report_table_has_a_caption_and_scoped_headers(admin_client, alice):
    record(alice, cost=Decimal("0.5"))

    page = parse(admin_client.get(REVIEW).content.decode())
    section = page.find("section", aria_labelledby="usage-totals-heading")
    tables = section.find_all("table")

    assert len(tables) == 3
    captions = [table.find("caption") for table in tables]
    assert all(caption is not None and caption.visible_text for caption in captions)
    assert [caption.visible_text for caption in captions][1:] == [
        "Cost by member",
        "Cost by model",
    ]
    headers = [th for table in tables for th in table.find_all("th")]
    assert headers and all(th.get("scope") in ("col", "row") for th in headers)


def test_the_totals_show_the_cached_tokens_that_were_billed_less(admin_client, alice):
    """A prompt mostly cached costs a quarter: without the cached count shown,
    the total cost could not be checked against the tokens."""
    record(alice, prompt_tokens=1_000, cached_tokens=800, cost=Decimal("0.00044"))

    response = admin_client.get(REVIEW)

    assert response.context_data["totals"]["cached_tokens"] == 800
    page = parse(response.content.decode())
    totals = page.find("section", aria_labelledby="usage-totals-heading").find("table")
    headers = [th.visible_text for th in totals.find_all("th")]
    cells = [td.visible_text for td in totals.find_all("td")]
    assert cells[headers.index("of which cached")] == "800"


def test_deleted_members_and_conversations_are_still_counted(admin_client, alice, bob):
    kept = record(alice, cost=Decimal("0.25"))
    gone = record(bob, cost=Decimal("0.5"))
    bob.delete()

    response = admin_client.get(REVIEW)

    assert response.context_data["totals"]["cost"] == Decimal("0.75")
    page = parse(response.content.decode())
    by_member = page.find("table", aria_label="Cost by member")
    names = [
        cells[0].visible_text for tr in by_member.find_all("tr") if (cells := tr.find_all("td"))
    ]
    assert names == ["(deleted)", "alice"]
    for row in (kept, gone):
        assert admin_client.get(f"{REVIEW}{row.pk}/change/").status_code == 200


def test_the_review_takes_as_many_queries_for_many_records_as_for_few(
    admin_client, django_user_model
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(REVIEW).status_code == 200
        return len(captured)

    member = django_user_model.objects.create_user("first")
    record(member, cost=Decimal("0.1"))
    few = queries()
    for number in range(40):
        member = django_user_model.objects.create_user(f"member{number}")
        record(member, model=f"model-{number % 7}", cost=Decimal("0.1"))

    assert queries() == few
