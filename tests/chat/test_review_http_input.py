"""Odd query strings and form posts: a clear answer, never a 500, nothing typed lost."""

import pytest

from chatapp.chat.models import Message, Role

from .dom import all_by_role, parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def test_older_messages_with_a_huge_before_is_not_a_server_error(alice_client, alice_conversation):
    url = f"/c/{alice_conversation.public_id}/older/?before={10**30}"
    response = alice_client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 400)


def test_message_version_with_a_huge_id_is_not_found(alice_client):
    response = alice_client.get(f"/messages/{10**30}/version/?step=1")
    assert response.status_code == 404


def test_message_version_with_a_huge_step(alice_client, alice_conversation):
    question = Message.objects.create(conversation=alice_conversation, role=Role.USER, content="q")
    answer = Message.objects.create(
        conversation=alice_conversation, role=Role.ASSISTANT, in_reply_to=question, content="a"
    )
    response = alice_client.get(
        f"/messages/{answer.pk}/version/?step={10**30}", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "before=2026-01-01T00:00:00&id=00000000-0000-0000-0000-000000000000",
        "before=9999-12-31T23:59:59%2B14:00&id=00000000-0000-0000-0000-000000000000",
        "before=2026-13-45T00:00:00&id=00000000-0000-0000-0000-000000000000",
        "before=9999-12-31T23:59:59-14:00&id=00000000-0000-0000-0000-000000000000",
        "before=0001-01-01T00:00:00%2B14:00&id=00000000-0000-0000-0000-000000000000",
        "before=2026-01-01T00:00:00%2B99:00&id=00000000-0000-0000-0000-000000000000",
        "before=2026-01-01T00:00:00Z&id=00000000-0000-0000-0000-000000000000&id=zz",
        "before=x&id=y",
        "id=00000000-0000-0000-0000-000000000000",
    ],
)
def test_older_conversations_with_odd_queries(alice_client, query):
    response = alice_client.get(f"/conversations/older/?{query}", HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 400)


def test_settings_with_an_error_without_htmx_keeps_what_was_typed(alice_client, alice_conversation):
    response = alice_client.post(
        f"/c/{alice_conversation.public_id}/settings/",
        {"system_prompt": "Answer as a pirate.", "max_output_tokens": "3"},
    )
    assert response.status_code == 422
    root = parse(response.content.decode())
    assert "Answer as a pirate." in root.by_id("id_system_prompt").visible_text
    assert "between 16 and 1,000,000" in response.content.decode()
    # Unfolded, so the errors are in sight.
    assert root.find("details", class_="conversation-settings").has("open")
    alerts = [node.visible_text for node in all_by_role(root, "alert")]
    assert "The settings were not saved. See Conversation settings." in alerts
    alice_conversation.refresh_from_db()
    assert alice_conversation.system_prompt == ""


def test_settings_with_a_nul_character(alice_client, alice_conversation):
    response = alice_client.post(
        f"/c/{alice_conversation.public_id}/settings/",
        {"system_prompt": "Be brief.\x00", "max_output_tokens": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code in (200, 422)


def test_settings_with_a_huge_token_count(alice_client, alice_conversation):
    response = alice_client.post(
        f"/c/{alice_conversation.public_id}/settings/",
        {"system_prompt": "Be brief.", "max_output_tokens": str(10**30)},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422


def test_other_members_settings_are_not_found(client, bob, alice_conversation):
    client.force_login(bob)
    response = client.post(f"/c/{alice_conversation.public_id}/settings/", {"system_prompt": "x"})
    assert response.status_code == 404


def test_a_system_prompt_longer_than_a_message_is_refused_and_kept(
    alice_client, alice_conversation
):
    """It goes with every request: one past any model's context failed every send."""
    too_long = "x" * 100_001  # a message's limit is 100,000
    response = alice_client.post(
        f"/c/{alice_conversation.public_id}/settings/",
        {"system_prompt": too_long, "max_output_tokens": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Keep the system prompt to 100,000 characters at most (it has 100,001)." in page
    field = parse(page).by_id("id_system_prompt")
    assert field.text.strip() == too_long
    assert field.get("maxlength") == "100000"  # the browser stops the typing there too
    alice_conversation.refresh_from_db()
    assert alice_conversation.system_prompt == ""
