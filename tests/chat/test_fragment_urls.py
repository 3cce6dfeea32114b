"""The addresses htmx loads pieces of a page from, opened as pages of their own.

A middle-click, a copied link or a browser without JavaScript asks for them
without htmx: the member lands on the conversation, laid out and styled, not
on a bare fragment. Someone else's conversation stays not found either way.
"""

import pytest
from django.urls import reverse

from chatapp.chat.models import Conversation, Message, Role

from .dom import all_by_role, by_role, parse

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def long_conversation(alice, add_answered_questions):
    """Long enough that the page offers "Load earlier messages", one answer regenerated."""
    conversation = Conversation.objects.create(owner=alice, model="o4-mini", title="Tides")
    add_answered_questions(conversation, 40)
    question = conversation.messages.filter(role=Role.USER).last()
    Message.objects.create(
        conversation=conversation,
        role=Role.ASSISTANT,
        in_reply_to=question,
        content="Second try",
        rendered_html="<p>Second try</p>",
    )
    return conversation


def client_for(client, user):
    client.force_login(user)
    return client


def earlier_messages_url(client, conversation) -> str:
    """The address the page's "Load earlier messages" button asks."""
    page = parse(client.get(conversation.get_absolute_url()).content.decode())
    return by_role(page, "button", "Load earlier messages").get("hx-get")


def version_url(conversation) -> str:
    """The address the pager's "Previous version" button asks, on the newest answer."""
    newest = conversation.messages.filter(role=Role.ASSISTANT).last()
    return reverse("message_version", args=[newest.pk]) + "?step=-1"


def assert_the_conversation_page(response, conversation):
    assert response.redirect_chain == [(conversation.get_absolute_url(), 302)]
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().lower().startswith("<!doctype html>"), "a whole page, with its styles"
    root = parse(html)
    assert by_role(root, "heading", "Tides").tag == "h1"
    assert by_role(root, "navigation", "Conversations")
    assert by_role(root, "button", "Load earlier messages")


def assert_not_found_for(client, user, url):
    """Another member gets 404, as a page and with htmx, and no hint of where it leads."""
    client.logout()
    client.force_login(user)
    for headers in ({}, HTMX):
        response = client.get(url, **headers)
        assert response.status_code == 404, (url, headers)
        assert "Location" not in response
        assert b"Tides" not in response.content and b"Answer" not in response.content


def test_earlier_messages_opened_as_a_page_show_the_conversation(
    client, alice, bob, long_conversation
):
    client = client_for(client, alice)
    url = earlier_messages_url(client, long_conversation)

    assert_the_conversation_page(client.get(url, follow=True), long_conversation)
    # A link with the query cut off lands there too, not on "Give ?before=".
    bare = url.split("?")[0]
    assert_the_conversation_page(client.get(bare, follow=True), long_conversation)
    assert_not_found_for(client, bob, url)


def test_an_answer_version_opened_as_a_page_shows_the_conversation(
    client, alice, bob, long_conversation
):
    client = client_for(client, alice)
    url = version_url(long_conversation)
    response = client.get(url, follow=True)

    assert_the_conversation_page(response, long_conversation)
    # The page shows the newest version, with its pager.
    answers = all_by_role(parse(response.content.decode()), "article")
    assert "Second try" in answers[-1].visible_text
    assert "Version 2 of 2" in answers[-1].visible_text
    assert_not_found_for(client, bob, url)


def test_htmx_still_swaps_fragments_in_which_caches_keep_apart_from_the_page(
    client, alice, long_conversation
):
    client = client_for(client, alice)
    earlier = client.get(earlier_messages_url(client, long_conversation), **HTMX)
    version = client.get(version_url(long_conversation), **HTMX)

    for response in (earlier, version):
        assert response.status_code == 200
        html = response.content.decode()
        assert "<html" not in html and "<nav" not in html, "only the piece htmx swaps in"
        # One address, two answers: a shared cache must not hand out one for the other.
        assert "HX-Request" in response["Vary"]
    assert "Question 0" in earlier.content.decode()
    assert "Answer 39" in version.content.decode()
    assert "Version 1 of 2" in version.content.decode()
