"""The conversation pages as a signed-in person sees them, found by role and label."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chatapp.chat.markdown import render_markdown
from chatapp.chat.models import Conversation, Message, Role, Status

from .dom import all_by_role, by_label, by_role, parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def page(response):
    assert response.status_code == 200, response
    return parse(response.content.decode())


EFFORT_CASES = [
    # model, effort select enabled, reason shown
    ("o4-mini", True),
    ("o3-mini", True),
    ("o1-mini", False),
]


@pytest.mark.parametrize(("model", "takes_effort"), EFFORT_CASES)
def test_model_and_effort_selectors(alice_client, alice, model, takes_effort):
    conversation = Conversation.objects.create(owner=alice, model=model, reasoning_effort="high")
    root = page(alice_client.get(conversation.get_absolute_url()))

    model_select = by_label(root, "Model")
    assert model_select.tag == "select"
    options = model_select.find_all("option")
    assert [o.visible_text for o in options] == ["o4-mini", "o3-mini", "o1-mini"]
    assert [o.visible_text for o in options if o.has("selected")] == [model]

    effort = by_label(root, "Reasoning effort")
    assert effort.tag == "select"
    assert [o.visible_text for o in effort.find_all("option")] == ["Low", "Medium", "High"]
    assert [o.get("value") for o in effort.find_all("option")] == ["low", "medium", "high"]
    assert effort.has("disabled") is not takes_effort

    reason = root.by_id(effort.get("aria-describedby"))
    assert reason.has("hidden") is takes_effort
    if not takes_effort:
        assert reason.visible_text == "o1-mini does not take a reasoning effort."
    else:
        assert [o.visible_text for o in effort.find_all("option") if o.has("selected")] == ["High"]


def test_the_composer_has_a_message_box_send_and_stop(alice_client, alice_conversation):
    root = page(alice_client.get(alice_conversation.get_absolute_url()))
    assert by_label(root, "Message").tag == "textarea"
    composer = by_role(root, "form", "Send a message")
    assert by_role(composer, "button", "Send").get("type") == "submit"
    assert by_role(root, "button", "Stop")
    chat = root.by_id("chat")
    assert chat.get("ws-connect") == f"/ws/conversations/{alice_conversation.public_id}/?seen=0"


def test_sidebar_lists_own_conversations_newest_first(alice_client, alice, bob):
    now = timezone.now()
    titles = ["Oldest", "Newest", "Middle"]
    ages = [timedelta(days=3), timedelta(minutes=1), timedelta(hours=5)]
    for title, age in zip(titles, ages, strict=True):
        made = Conversation.objects.create(owner=alice, model="o4-mini", title=title)
        Conversation.objects.filter(pk=made.pk).update(updated_at=now - age)
    Conversation.objects.create(owner=bob, model="o4-mini", title="Bob's secret plan")
    current = Conversation.objects.get(title="Middle")

    root = page(alice_client.get(current.get_absolute_url()))
    sidebar = by_role(root, "navigation", "Conversations")
    links = all_by_role(sidebar, "link")
    assert [link.visible_text for link in links] == ["Newest", "Middle", "Oldest"]
    assert [link.visible_text for link in links if link.get("aria-current") == "page"] == ["Middle"]
    assert "Bob's secret plan" not in root.visible_text
    assert by_role(root, "heading", "Middle").tag == "h1"


def test_older_conversations_are_reached_from_the_sidebar(alice_client, alice, bob):
    now = timezone.now()
    for number in range(205):
        made = Conversation.objects.create(owner=alice, model="o4-mini", title=f"Chat {number}")
        # Three by three at the same time: a page ends between two such.
        Conversation.objects.filter(pk=made.pk).update(
            updated_at=now - timedelta(minutes=number // 3)
        )
    Conversation.objects.create(owner=bob, model="o4-mini", title="Bob's secret plan")

    sidebar = by_role(page(alice_client.get("/", follow=True)), "navigation", "Conversations")
    titles = [link.visible_text for link in all_by_role(sidebar, "link")]
    assert len(titles) == 100
    # Pressed as htmx does it: the button gives way to the conversations it loads.
    for _ in range(5):
        buttons = all_by_role(sidebar, "button", "Show older conversations")
        if not buttons:
            break
        response = alice_client.get(buttons[0].get("hx-get"), HTTP_HX_REQUEST="true")
        sidebar = page(response)
        titles += [link.visible_text for link in all_by_role(sidebar, "link")]

    assert len(titles) == len(set(titles)) == 205, "every conversation, once"
    assert set(titles[:3]) == {"Chat 0", "Chat 1", "Chat 2"}
    assert titles[-1] == "Chat 204"


def test_home_opens_the_latest_conversation(alice_client, alice):
    older = Conversation.objects.create(owner=alice, model="o4-mini", title="Older")
    latest = Conversation.objects.create(owner=alice, model="o4-mini", title="Latest")
    Conversation.objects.filter(pk=older.pk).update(updated_at=timezone.now() - timedelta(days=1))
    response = alice_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == latest.get_absolute_url()


def test_home_starts_a_conversation_for_a_newcomer(alice_client, alice):
    response = alice_client.get("/", follow=True)
    conversation = Conversation.objects.get(owner=alice)
    assert response.redirect_chain == [(conversation.get_absolute_url(), 302)]
    assert by_role(page(response), "heading", "New conversation")


def test_new_conversation_button(alice_client, alice, alice_conversation):
    Message.objects.create(conversation=alice_conversation, role=Role.USER, content="Hi")
    root = page(alice_client.get(alice_conversation.get_absolute_url()))
    button = by_role(root, "button", "New conversation")
    form = next(a for a in button.ancestors() if a.tag == "form")
    assert form.get("method") == "post"

    response = alice_client.post(form.get("action"))
    fresh = Conversation.objects.exclude(pk=alice_conversation.pk).get(owner=alice)
    assert response.status_code == 302
    assert response["Location"] == fresh.get_absolute_url()
    assert page(alice_client.get(response["Location"])).find("h1").visible_text == (
        "New conversation"
    )

    # Pressing it again does not pile up empty conversations.
    again = alice_client.post(form.get("action"))
    assert again["Location"] == fresh.get_absolute_url()
    assert Conversation.objects.filter(owner=alice).count() == 2
    assert alice_client.get(form.get("action")).status_code == 405


def test_someone_elses_conversation_is_not_found(client, bob, alice_conversation):
    reply = Message.objects.create(
        conversation=alice_conversation, role=Role.ASSISTANT, content="alice's answer"
    )
    client.force_login(bob)
    for url in [
        alice_conversation.get_absolute_url(),
        f"/c/{alice_conversation.public_id}/older/?before=1000",
        f"/messages/{reply.pk}/version/",
        f"/c/{uuid.uuid4()}/",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"alice's answer" not in response.content

    response = client.post(
        f"/c/{alice_conversation.public_id}/settings/", {"system_prompt": "Obey bob"}
    )
    assert response.status_code == 404
    alice_conversation.refresh_from_db()
    assert alice_conversation.system_prompt == ""


def test_the_simulator_notice_is_shown_when_no_gateway_is_configured(
    alice_client, alice_conversation
):
    root = page(alice_client.get(alice_conversation.get_absolute_url()))
    notice = by_role(root, "note")
    assert notice.visible_text.startswith("Replies are simulated")
    assert "OPENAI_API_KEY" in notice.visible_text


def test_no_simulator_notice_with_a_gateway(settings, alice_client, alice_conversation):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    settings.OPENAI_API_KEY = "sk-test-not-shown-0123456789"
    root = page(alice_client.get(alice_conversation.get_absolute_url()))
    assert not all_by_role(root, "note")
    assert "simulated" not in root.visible_text


ANSWER = "Use **mergesort** when stability matters.\n\n| n | cost |\n| - | - |\n| 10 | low |\n"


def test_reloading_shows_every_message_with_collapsed_reasoning(alice_client, alice):
    conversation = Conversation.objects.create(owner=alice, model="o4-mini", title="Sorting")
    turns = [
        ("Which sort is stable?", "Stability means equal keys keep order.", ANSWER),
        ("And in place?", "Heapsort is in place but not stable.", "Heapsort, `O(1)` space."),
    ]
    for question, reasoning, answer in turns:
        asked = Message.objects.create(conversation=conversation, role=Role.USER, content=question)
        Message.objects.create(
            conversation=conversation,
            role=Role.ASSISTANT,
            in_reply_to=asked,
            content=answer,
            reasoning=reasoning,
            rendered_html=render_markdown(answer),
            status=Status.COMPLETE,
            model="o4-mini",
            reasoning_effort="high",
            provider="Simulator",
            reasoning_tokens=345,
            reasoning_seconds=12.4,
        )

    root = page(alice_client.get(conversation.get_absolute_url()))
    region = by_role(root, "region", "Messages")
    articles = all_by_role(region, "article")
    assert [(a.get("data-role"), a.get("data-status")) for a in articles] == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert [a.accessible_name(root) for a in articles] == ["You", "Assistant"] * 2
    assert articles[0].visible_text.endswith("Which sort is stable?")

    first_answer = articles[1]
    details = first_answer.find("details")
    assert not details.has("open"), "reasoning is collapsed after reload"
    assert details.find("summary").visible_text == "Thought for 12 s · 345 reasoning tokens"
    assert "Stability means equal keys keep order." in details.visible_text
    answer = first_answer.find(class_="answer markdown")
    assert answer.find("strong").text == "mergesort"
    assert [td.text for td in answer.find("table").find_all("td")] == ["10", "low"]
    assert "o4-mini · effort high · via Simulator" in first_answer.find("footer").visible_text
    assert articles[3].find(class_="answer markdown").find("code").text == "O(1)"


@pytest.mark.parametrize(
    ("status", "note"),
    [
        ("stopped", "Stopped. The answer so far is kept."),
        ("interrupted", "The server stopped while this answer was being written"),
        ("error", "The gateway refused the request."),
    ],
)
def test_unfinished_answers_say_what_happened(alice_client, alice_conversation, status, note):
    asked = Message.objects.create(conversation=alice_conversation, role=Role.USER, content="Q")
    Message.objects.create(
        conversation=alice_conversation,
        role=Role.ASSISTANT,
        in_reply_to=asked,
        content="Partial",
        rendered_html=render_markdown("Partial"),
        status=status,
        error="The gateway refused the request." if status == "error" else "",
        model="o4-mini",
    )
    root = page(alice_client.get(alice_conversation.get_absolute_url()))
    article = all_by_role(root, "article")[-1]
    assert article.get("data-status") == status
    assert note in article.visible_text
    assert "Partial" in article.find(class_="answer markdown").visible_text


def test_a_page_opened_mid_thought_says_how_long_the_model_has_been_thinking(
    alice_client, alice_conversation
):
    """Counted by the server: the browser only counts on (its clock may be off)."""
    question = Message.objects.create(
        conversation=alice_conversation, role=Role.USER, content="Think hard"
    )
    answer = Message.objects.create(
        conversation=alice_conversation,
        role=Role.ASSISTANT,
        in_reply_to=question,
        status=Status.STREAMING,
    )
    Message.objects.filter(pk=answer.pk).update(created_at=timezone.now() - timedelta(seconds=90))

    root = page(alice_client.get(alice_conversation.get_absolute_url()))

    summary = root.by_id(f"message-{answer.pk}-summary")
    assert summary.visible_text.startswith("Thinking…")
    elapsed_ms = int(summary.find("span", class_="elapsed").get("data-elapsed-ms"))
    assert 90_000 <= elapsed_ms < 100_000
