"""Regenerated answers keep their earlier versions, which the member can page through."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chatapp.chat import recovery
from chatapp.chat.models import Conversation, Message, Role, Status

from .dom import all_by_role, parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered_twice(alice):
    conversation = Conversation.objects.create(owner=alice, model="o4-mini", title="Tides")
    question = Message.objects.create(conversation=conversation, role=Role.USER, content="Why?")
    first = Message.objects.create(
        conversation=conversation,
        role=Role.ASSISTANT,
        in_reply_to=question,
        content="First try",
        rendered_html="<p>First try</p>",
        status=Status.STOPPED,
    )
    second = Message.objects.create(
        conversation=conversation,
        role=Role.ASSISTANT,
        in_reply_to=question,
        content="Second try",
        rendered_html="<p>Second try</p>",
    )
    return conversation, first, second


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_newest_version_with_its_pager(alice, answered_twice):
    conversation, _, _ = answered_twice
    page = client_for(alice).get(conversation.get_absolute_url()).content.decode()
    assert "Second try" in page and "First try" not in page
    assert "Version 2 of 2" in page
    assert "Regenerate" in page


def test_paging_back_shows_the_earlier_version_without_regenerate(alice, answered_twice):
    _, _, second = answered_twice
    response = client_for(alice).get(
        reverse("message_version", args=[second.pk]), {"step": "-1"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "First try" in html and "Version 1 of 2" in html
    assert 'data-status="stopped"' in html
    assert "Regenerate" not in html and "Retry" not in html
    assert "hx-swap-oob" not in html


def test_someone_elses_answer_versions_are_404(bob, answered_twice):
    _, _, second = answered_twice
    response = client_for(bob).get(reverse("message_version", args=[second.pk]))
    assert response.status_code == 404


def test_an_older_version_stays_hidden_when_its_question_is_on_the_page_before(
    alice, answered_twice, add_answered_questions
):
    conversation, _, _ = answered_twice
    # Pushes the question, not its answers, off the first page.
    add_answered_questions(conversation, 24)
    Message.objects.create(conversation=conversation, role=Role.USER, content="And then?")
    page, has_older = conversation.page_of_messages()
    shown = [message.content for message in page]
    assert has_older
    assert "Why?" not in shown, "the question is on the page before"
    assert "Second try" in shown and "First try" not in shown
    assert next(m for m in page if m.content == "Second try").version_count == 2


def regenerated(conversation: Conversation, times: int) -> None:
    """A question whose answer was regenerated ``times`` times ("Try 0" is the first)."""
    question = Message.objects.create(
        conversation=conversation, role=Role.USER, content="The last question"
    )
    for number in range(times + 1):
        Message.objects.create(
            conversation=conversation,
            role=Role.ASSISTANT,
            in_reply_to=question,
            content=f"Try {number}",
            rendered_html=f"<p>Try {number}</p>",
        )


def test_scrolling_up_past_many_regenerations_reaches_the_first_question(
    alice, add_answered_questions
):
    conversation = Conversation.objects.create(owner=alice, model="o4-mini")
    add_answered_questions(conversation, 30)
    regenerated(conversation, 59)
    client = client_for(alice)

    shown = parse(client.get(conversation.get_absolute_url()).content.decode())
    texts = [article.visible_text for article in all_by_role(shown, "article")]
    # Scrolled up as htmx does it: each page replaces the loader that asked for it.
    for _ in range(5):
        loaders = all_by_role(shown, "button", "Load earlier messages")
        if not loaders:
            break
        response = client.get(loaders[0].get("hx-get"), HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.content
        shown = parse(response.content.decode())
        texts = [article.visible_text for article in all_by_role(shown, "article")] + texts

    assert "Question 0" in texts[0], "never reached the first question"
    assert len(texts) == 62, "each question and the latest of each answer, once"
    assert "Try 59" in texts[-1] and "Version 60 of 60" in texts[-1]
    assert not [text for text in texts if "Try 58" in text]


def page_queries(client: Client, conversation: Conversation) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(conversation.get_absolute_url()).status_code == 200
    return len(queries)


def test_regenerating_adds_no_query_to_the_page(alice, add_answered_questions):
    client = client_for(alice)
    conversations = []
    for times in (1, 59):
        conversation = Conversation.objects.create(owner=alice, model="o4-mini")
        add_answered_questions(conversation, 30)
        regenerated(conversation, times)
        conversations.append(conversation)
    page_queries(client, conversations[0])  # what is read once per process (the models)

    assert page_queries(client, conversations[0]) == page_queries(client, conversations[1])


@pytest.mark.django_db(transaction=True)
async def test_a_new_version_interrupted_by_a_restart_keeps_its_pager(
    sockets, alice_session, answered_twice
):
    conversation, _, second = answered_twice
    long_ago = timezone.now() - timedelta(minutes=5)
    await Message.objects.filter(pk=second.pk).aupdate(
        status=Status.STREAMING, created_at=long_ago, heartbeat_at=long_ago
    )
    socket = await sockets(conversation.public_id, alice_session)

    assert await recovery.interrupt_orphans() == 1

    article = await socket.receive_final("interrupted")
    assert article.get("id") == f"message-{second.pk}"
    assert "Version 2 of 2" in article.visible_text
