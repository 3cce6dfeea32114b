"""The gateway's API key stays on the server: never in a page, a frame, an error or a log."""

import logging
import re

import pytest
from django.test import AsyncClient

from chatapp.chat.models import Message, Status
from chatapp.usage.models import UsageRecord

from .dom import parse
from .live import message_pk

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "sk-sentinel-7f3a9c1e5b2d4068a1c3e5f7b9d1f3a5"
KEY_PARTS = [KEY, KEY[-16:], KEY[3:20]]


def leaks(text: str) -> list[str]:
    return [part for part in KEY_PARTS if part in text]


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pw-123")


@pytest.fixture
def keyed_gateway(settings, simulator):
    """A real gateway configuration with a secret key, answered by the simulator."""
    settings.OPENAI_BASE_URL = simulator.base_url
    settings.OPENAI_API_KEY = KEY
    return simulator


async def get_pages(client: AsyncClient, urls, headers=None) -> dict[str, str]:
    pages = {}
    for url in urls:
        response = await client.get(url, headers=headers or {})
        assert response.status_code in {200, 302, 404}, (url, response.status_code)
        pages[url] = response.content.decode()
    return pages


async def test_the_key_never_appears_anywhere(
    keyed_gateway, caplog, sockets, alice, alice_session, alice_conversation, boss
):
    caplog.set_level(logging.DEBUG)
    socket = await sockets(alice_conversation.public_id, alice_session)

    await socket.send(message="What is a reasoning model?", model="o4-mini")
    answered = await socket.receive_final("complete")
    # This gateway, like some real ones, echoes the key in its 401 error body.
    await socket.send(message="Fail please #fault:401")
    failed = await socket.receive_final("error")

    # The key was really used: the gateway received it.
    assert any(r.headers.get("authorization") == f"Bearer {KEY}" for r in keyed_gateway.received)
    refused = await Message.objects.aget(pk=message_pk(failed))
    assert refused.status == Status.ERROR
    alert = failed.find(role="alert").visible_text
    assert alert, "the person is told what went wrong"
    assert "Traceback" not in alert
    assert leaks(alert) == []
    assert leaks(refused.error) == []
    assert message_pk(answered) != refused.pk

    for frame in socket.frames:
        assert leaks(frame) == [], frame

    alice_client = AsyncClient()
    await alice_client.aforce_login(alice)
    reply = await Message.objects.filter(conversation=alice_conversation).alast()
    pages = await get_pages(
        alice_client,
        [
            "/",
            alice_conversation.get_absolute_url(),
            "/no-such-page/",
        ],
    )
    # The fragments htmx fetches (a plain GET is sent to the conversation page).
    fragments = [
        f"/c/{alice_conversation.public_id}/older/?before={reply.pk + 1}",
        f"/messages/{reply.pk}/version/",
    ]
    pages.update(await get_pages(alice_client, fragments, headers={"HX-Request": "true"}))
    pages.update(await get_pages(AsyncClient(), ["/accounts/login/"]))

    # Every admin page the administrator can reach from the index, and each record's page.
    boss_client = AsyncClient()
    await boss_client.aforce_login(boss)
    index = (await boss_client.get("/admin/")).content.decode()
    pages["/admin/"] = index
    changelists = sorted(
        {
            a.get("href")
            for a in parse(index).find_all("a")
            if re.fullmatch(r"/admin/\w+/\w+/", a.get("href") or "")
        }
    )
    assert "/admin/usage/usagerecord/" in changelists
    pages.update(await get_pages(boss_client, changelists))
    record = await UsageRecord.objects.afirst()
    pages.update(
        await get_pages(
            boss_client,
            [
                f"/admin/chat/conversation/{alice_conversation.pk}/change/",
                f"/admin/usage/usagerecord/{record.pk}/change/",
            ],
        )
    )
    for url, html in pages.items():
        assert leaks(html) == [], url

    for record in caplog.records:
        assert leaks(record.getMessage()) == [], record.getMessage()
        assert leaks(repr(record.__dict__)) == [], record.__dict__
