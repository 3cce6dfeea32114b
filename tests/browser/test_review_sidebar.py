"""The conversation list by keyboard: loading older conversations keeps the keyboard's place."""

from playwright.sync_api import expect

from .conftest import log_in
from .journeys import new_conversation

MAKE_OLD_CONVERSATIONS = """
from django.contrib.auth import get_user_model
from chatapp.chat.models import Conversation
owner = get_user_model().objects.get(username={username!r})
Conversation.objects.bulk_create(
    [Conversation(owner=owner, title=f"Old talk {{n}}", model="o4-mini") for n in range(105)]
)
"""


def test_show_older_conversations_by_keyboard_moves_to_the_first_loaded_one(page, app_server):
    username = log_in(page, app_server)
    app_server.manage("shell", "-c", MAKE_OLD_CONVERSATIONS.format(username=username))
    new_conversation(page)
    sidebar = page.get_by_role("navigation", name="Conversations")
    links = sidebar.get_by_role("link")
    expect(links).to_have_count(100)
    more = sidebar.get_by_role("button", name="Show older conversations")
    more.focus()
    page.keyboard.press("Enter")
    expect(links).to_have_count(106)
    # The keyboard is on the first conversation that was not shown before.
    expect(links.nth(100)).to_be_focused()
