"""The conversation websocket on the real ASGI stack (origin check, session auth, routing).

Replies come from the built-in simulator over real HTTP; generation runs as a
task in the test's event loop, exactly as under daphne.
"""

import asyncio
import uuid

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import AsyncClient

from chatapp.chat import consumers
from chatapp.chat.models import Conversation, Message, Status
from chatapp.providers.simulator import compose_reply
from chatapp.usage.models import UsageRecord
from tests.conftest import wait_for

from .conftest import session_key
from .dom import all_by_role, by_role, parse
from .live import deltas, final_article, message_pk, streamed, turn_articles

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "Compare quicksort and mergesort"


async def messages_of(conversation) -> list[Message]:
    return [m async for m in Message.objects.filter(conversation=conversation).order_by("pk")]


async def counts() -> tuple[int, int, int]:
    return (
        await Conversation.objects.acount(),
        await Message.objects.acount(),
        await UsageRecord.objects.acount(),
    )


async def test_a_send_streams_reasoning_then_answer_and_is_saved(
    sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    assert socket.connected

    await socket.send(message=QUESTION, model="o4-mini", reasoning_effort="low")
    final = await socket.receive_final("complete")
    frames = socket.frames

    # The user's message and an empty streaming reply appear at once.
    turn_at = next(i for i, f in enumerate(frames) if turn_articles(f))
    user, reply = turn_articles(frames[turn_at])
    assert user.get("data-status") == "complete"
    assert user.find(class_="user-text").visible_text == QUESTION
    assert reply.get("data-status") == "streaming"
    assert reply.find("details").has("open")
    assert reply.find("summary").visible_text.startswith("Thinking…")
    reply_id = message_pk(reply)
    assert final.get("id") == f"message-{reply_id}"

    # The message box is emptied for the next question.
    reset = next(f for f in frames if 'id="message-input"' in f)
    assert parse(reset).by_id("message-input").text == ""

    # Reasoning streams first, then the answer; no reasoning after the answer starts.
    reasoning_at = [i for i, f in enumerate(frames) if deltas(f, reply_id, "reasoning")]
    answer_at = [i for i, f in enumerate(frames) if deltas(f, reply_id, "answer")]
    final_at = frames.index(next(f for f in frames if final_article(f, "complete")))
    assert reasoning_at and answer_at
    assert turn_at < reasoning_at[0] <= reasoning_at[-1] <= answer_at[0]
    assert answer_at[-1] < final_at
    assert len(answer_at) > 1, "the answer should stream in several pieces"
    assert "Thought for" in "".join(frames[turn_at:final_at])

    # The final swap: rendered markdown, highlighted code, a settled reasoning pane.
    answer = final.by_id(f"message-{reply_id}-answer")
    assert "markdown" in answer.get("class").split()
    assert answer.find_all("table")
    assert answer.find("pre", class_="highlight").find_all("span", class_="k")
    assert not final.find("details").has("open")
    summary = final.find("summary").visible_text
    assert summary.startswith("Thought for")
    assert "reasoning tokens" in summary

    saved = await messages_of(alice_conversation)
    assert [(m.role, m.status) for m in saved] == [("user", "complete"), ("assistant", "complete")]
    question, answer_message = saved
    assert question.content == QUESTION
    assert answer_message.pk == reply_id
    assert answer_message.content.startswith("Here is a simulated answer")
    assert "```python" in answer_message.content
    assert answer_message.reasoning.startswith("The user asks about: " + QUESTION)
    assert answer_message.reasoning_tokens > 0
    assert answer_message.reasoning_seconds is not None
    assert answer_message.reasoning_seconds >= 0
    assert answer_message.reasoning_effort == "low"
    assert answer_message.model == "o4-mini"
    assert answer_message.provider == "Simulator"
    assert answer_message.finished_at is not None
    assert "<table>" in answer_message.rendered_html

    # What the socket assembled from deltas is exactly what was saved.
    assert streamed(frames, reply_id, "answer") == answer_message.content
    assert streamed(frames, reply_id, "reasoning") == answer_message.reasoning

    record = await UsageRecord.objects.aget(message_id=reply_id)
    assert record.outcome == "complete"
    assert record.model == "o4-mini"
    assert record.reasoning_effort == "low"
    assert record.prompt_tokens > 0
    assert record.completion_tokens > record.reasoning_tokens > 0
    assert record.reasoning_tokens == answer_message.reasoning_tokens
    assert record.cost > 0
    assert record.user_id == alice_conversation.owner_id

    conversation = await Conversation.objects.aget(pk=alice_conversation.pk)
    assert conversation.title == QUESTION


@pytest.fixture
def logged_out_session(alice) -> str:
    key = session_key(alice)
    SessionStore(key).delete()
    return key


@pytest.fixture
def session_before_password_change(alice) -> str:
    key = session_key(alice)
    alice.set_password("a new password 7")
    alice.save()
    return key


OLD_KEY, NEW_KEY = "the secret key before rotation " * 2, "the secret key after rotation " * 2


def session_under_the_old_key(alice, settings, fallbacks: list[str]) -> str:
    """A login made before the secret key changed to NEW_KEY with ``fallbacks``."""
    settings.SECRET_KEY = OLD_KEY
    key = session_key(alice)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, fallbacks
    return key


@pytest.fixture
def session_during_key_rotation(alice, settings) -> str:
    return session_under_the_old_key(alice, settings, [OLD_KEY])


@pytest.fixture
def session_under_a_retired_key(alice, settings) -> str:
    return session_under_the_old_key(alice, settings, [])


# Who opens a socket that must be refused: (conversation, session, origin,
# close code). Each case builds only the fixtures it names, so one case's
# session (a password changed since) cannot spoil another's.
OUR_ORIGIN = b"http://127.0.0.1"
REFUSALS = {
    "anonymous": ("alice_conversation", None, OUR_ORIGIN, 4401),
    "logged out": ("alice_conversation", "logged_out_session", OUR_ORIGIN, 4401),
    "password changed since": (
        "alice_conversation",
        "session_before_password_change",
        OUR_ORIGIN,
        4401,
    ),
    "key retired since": ("alice_conversation", "session_under_a_retired_key", OUR_ORIGIN, 4401),
    # Channels' origin check closes before authentication, with a plain 1000.
    "other origin": ("alice_conversation", "alice_session", b"https://evil.example", 1000),
    "no origin": ("alice_conversation", "alice_session", None, 1000),
    "bob's conversation": ("bob_conversation", "alice_session", OUR_ORIGIN, 4404),
    "no such conversation": (None, "alice_session", OUR_ORIGIN, 4404),
}


@pytest.fixture(params=list(REFUSALS))
def refused(request) -> tuple:
    conversation, session, origin, code = REFUSALS[request.param]
    public_id = request.getfixturevalue(conversation).public_id if conversation else uuid.uuid4()
    return public_id, request.getfixturevalue(session) if session else None, origin, code


async def test_a_socket_that_may_not_see_the_conversation_is_refused(sockets, refused):
    """Refused before anything is sent, for the right reason, and nothing is created."""
    public_id, session, origin, code = refused
    before = await counts()
    socket = await sockets(public_id, session, origin)
    assert not socket.connected
    assert socket.close_code == code
    assert await socket.nothing_more()
    assert await counts() == before


async def test_a_login_from_before_a_key_rotation_keeps_its_tabs_working(
    sockets, session_during_key_rotation, alice_conversation
):
    """While the old key is a fallback, its sessions open sockets and stay logged in."""
    socket = await sockets(alice_conversation.public_id, session_during_key_rotation)
    assert socket.connected
    await socket.send(message="Still there?")
    await socket.receive_final()

    client = AsyncClient()
    client.cookies["sessionid"] = session_during_key_rotation
    page = await client.get(f"/c/{alice_conversation.public_id}/")
    assert page.status_code == 200
    assert "Still there?" in page.text


async def sign_out(alice, session_key: str) -> None:
    await SessionStore(session_key).adelete()


async def change_password(alice, session_key: str) -> None:
    alice.set_password("changed in another browser 9")
    await alice.asave()


# What ends a login while a tab's socket stays open.
SIGN_OUTS = {"log out": sign_out, "password changed elsewhere": change_password}


@pytest.mark.parametrize("end_login", SIGN_OUTS.values(), ids=SIGN_OUTS.keys())
async def test_an_open_tab_cannot_send_once_its_login_has_ended(
    end_login, sockets, alice, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await end_login(alice, alice_session)

    await socket.send(message="Still me?", model="o4-mini", reasoning_effort="low")

    assert "Your login ended or changed" in await socket.receive_status()
    assert await Message.objects.acount() == 0
    assert await UsageRecord.objects.acount() == 0


@pytest.mark.parametrize("end_login", SIGN_OUTS.values(), ids=SIGN_OUTS.keys())
async def test_an_open_tab_cannot_regenerate_once_its_login_has_ended(
    end_login, sockets, alice, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Once", model="o4-mini", reasoning_effort="low")
    answer = message_pk(await socket.receive_final("complete"))
    await end_login(alice, alice_session)

    await socket.send(action="regenerate", message_id=str(answer))

    assert "Your login ended or changed" in await socket.receive_status()
    assert await Message.objects.acount() == 2
    assert await UsageRecord.objects.acount() == 1


@pytest.mark.parametrize("end_login", SIGN_OUTS.values(), ids=SIGN_OUTS.keys())
async def test_an_open_tab_cannot_stop_an_answer_once_its_login_has_ended(
    end_login, settings, sockets, alice, alice_session, alice_conversation
):
    """Whoever sits at the computer after the member logged out elsewhere."""
    settings.SIMULATOR_CHUNK_DELAY = 0.05
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Think it through", model="o4-mini", reasoning_effort="low")
    await socket.receive_until(lambda frame: "beforeend:#message-" in frame)
    await end_login(alice, alice_session)

    await socket.send(action="stop")

    assert "Your login ended or changed" in await socket.receive_status()
    assert (await socket.receive_final("complete", timeout=15)).get("data-status") == "complete"


async def test_someone_elses_conversation_looks_like_a_missing_one(
    sockets, alice_session, bob_conversation
):
    """Alice cannot tell whether bob's conversation id exists."""
    theirs = await sockets(bob_conversation.public_id, alice_session)
    missing = await sockets(uuid.uuid4(), alice_session)
    assert not theirs.connected
    assert not missing.connected
    assert theirs.close_code == missing.close_code


BAD_FRAMES = [
    ("not JSON", "hello there", "could not be read"),
    ("a JSON list", '["send", "hello"]', "could not be read"),
    ("a JSON string", '"hello"', "could not be read"),
    ("no message", '{"action": "send"}', "Write a message first"),
    ("an empty message", '{"message": ""}', "Write a message first"),
    ("a blank message", '{"message": "  \\n\\t "}', "Write a message first"),
    ("a message that is not text", '{"message": 42}', "Write a message first"),
    ("an unknown model", '{"message": "hi", "model": "gpt-99"}', "model is not offered"),
    ("a model that is not text", '{"message": "hi", "model": ["o4-mini"]}', "model is not offered"),
    ("a bad effort", '{"message": "hi", "reasoning_effort": "max"}', "Low, Medium or High"),
    ("an effort that is not text", '{"message": "hi", "reasoning_effort": [1]}', "Low, Medium"),
    ("an unknown action", '{"action": "delete", "message": "hi"}', "Unknown action"),
    ("stop with nothing running", '{"action": "stop"}', "Nothing is being written"),
    ("a message too long", '{"message": "' + "x" * 100_001 + '"}', "too long"),
    ("a huge frame", '{"message": "' + "x" * 300_000 + '"}', "could not be read"),
]


@pytest.mark.parametrize(
    ("frame", "status"), [case[1:] for case in BAD_FRAMES], ids=[case[0] for case in BAD_FRAMES]
)
async def test_a_malformed_frame_gets_a_clear_status_and_changes_nothing(
    frame, status, sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    before = await counts()

    await socket.send_raw(frame)
    shown = await socket.receive_status()
    assert status in shown
    assert "Traceback" not in shown
    assert await socket.nothing_more()
    assert await counts() == before

    # The socket is still listening.
    await socket.send(action="stop")
    assert "Nothing is being written" in await socket.receive_status()


async def test_after_every_bad_frame_a_proper_send_still_works(
    sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    for _, frame, status in BAD_FRAMES:
        await socket.send_raw(frame)
        assert status in await socket.receive_status()
    assert await counts() == (1, 0, 0)

    await socket.send(message="Still there?", reasoning_effort="low")
    final = await socket.receive_final("complete")
    saved = await messages_of(alice_conversation)
    assert saved[0].content == "Still there?"
    assert saved[1].pk == message_pk(final)


async def test_a_binary_frame_is_refused_politely(sockets, alice_session, alice_conversation):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send_raw(data=b'{"message": "hi"}')
    assert "could not be read" in await socket.receive_status()
    assert await Message.objects.acount() == 0


async def test_a_second_send_while_a_reply_streams_is_refused_and_loses_nothing(
    settings, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.01
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="First question", reasoning_effort="low")
    first = await socket.receive_until(turn_articles)
    reply_id = message_pk(turn_articles(first)[1])
    await socket.receive_until(lambda f: deltas(f, reply_id, "reasoning"))

    await socket.send(message="Second question")
    refusal = await socket.receive_until(lambda f: 'id="composer-status"' in f and "<p" in f)
    assert "still being written" in parse(refusal).by_id("composer-status").visible_text
    # The refused question stays in the message box: no reset of the composer.
    assert 'id="message-input"' not in refusal

    final = await socket.receive_final("complete")
    assert final.get("id") == f"message-{reply_id}"
    saved = await messages_of(alice_conversation)
    assert [(m.role, m.status) for m in saved] == [("user", "complete"), ("assistant", "complete")]
    assert saved[0].content == "First question"
    assert saved[1].content.startswith("Here is a simulated answer about *First question*")
    assert await UsageRecord.objects.acount() == 1


async def test_o1_mini_answers_without_effort(sockets, alice_session, alice_conversation):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(
        message="Prove there are infinitely many primes", model="o1-mini", reasoning_effort="high"
    )
    final = await socket.receive_final("complete")

    reply = await Message.objects.aget(pk=message_pk(final))
    assert reply.status == Status.COMPLETE
    assert reply.model == "o1-mini"
    assert reply.reasoning_effort == ""
    assert reply.error == ""
    assert "effort" not in final.find("footer").visible_text
    record = await UsageRecord.objects.aget(message=reply)
    assert record.reasoning_effort == ""
    assert record.model == "o1-mini"


async def test_regenerate_uses_the_model_of_the_last_send_not_the_one_at_connect(
    sockets, alice_session, alice
):
    """The Regenerate button names no model: it means the one just used, even on this socket."""
    conversation = await Conversation.objects.acreate(owner=alice, model="o3-mini")
    socket = await sockets(conversation.public_id, alice_session)
    await socket.send(message=QUESTION, model="o4-mini", reasoning_effort="high")
    first = message_pk(await socket.receive_final("complete"))

    await socket.send(action="regenerate", message_id=str(first))
    again = await Message.objects.aget(pk=message_pk(await socket.receive_final("complete")))

    assert again.pk != first
    assert (again.model, again.reasoning_effort) == ("o4-mini", "high")


async def test_stop_keeps_the_partial_answer(settings, sockets, alice_session, alice_conversation):
    settings.SIMULATOR_CHUNK_DELAY = 0.02
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Write a long essay", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()
    await socket.receive_until(lambda f: deltas(f, reply_id, "answer"))

    await socket.send(action="stop")
    final = await socket.receive_final("stopped")

    assert final.get("id") == f"message-{reply_id}"
    assert "Stopped. The answer so far is kept." in final.visible_text
    reply = await Message.objects.aget(pk=reply_id)
    assert reply.status == Status.STOPPED
    full_answer = "".join(
        compose_reply(
            {
                "messages": [{"role": "user", "content": "Write a long essay"}],
                "reasoning_effort": "low",
            }
        ).answer
    )
    assert reply.content.startswith("Here is")
    assert full_answer.startswith(reply.content)
    assert len(reply.content) < len(full_answer) / 2, "the stop came long before the end"
    assert reply.reasoning.startswith("The user asks about: Write a long essay")
    assert streamed(socket.frames, reply_id, "answer") == reply.content
    assert final.by_id(f"message-{reply_id}-answer").visible_text.startswith("Here is")
    record = await UsageRecord.objects.aget(message_id=reply_id)
    assert record.outcome == "stopped"

    # The conversation is free again.
    settings.SIMULATOR_CHUNK_DELAY = 0.001
    await socket.send(message="Shorter, please", reasoning_effort="low")
    await socket.receive_final("complete")


async def test_a_socket_joining_mid_stream_gets_a_snapshot_then_deltas_without_duplicates(
    settings, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.01
    first = await sockets(alice_conversation.public_id, alice_session)
    await first.send(message="Explain consensus algorithms", reasoning_effort="low")
    reply_id = await first.receive_reply_id()
    await first.receive_until(lambda f: deltas(f, reply_id, "answer"))

    second = await sockets(alice_conversation.public_id, alice_session)
    snapshot_frame = await second.receive()
    snapshot = parse(snapshot_frame).find("article", id=f"message-{reply_id}")
    assert snapshot.get("data-status") == "streaming"
    assert snapshot.get("hx-swap-oob") == "true"
    answer_so_far = snapshot.by_id(f"message-{reply_id}-answer").text
    reasoning_so_far = snapshot.by_id(f"message-{reply_id}-reasoning").text
    assert answer_so_far.startswith("Here is")

    await second.receive_final("complete")
    await first.receive_final("complete")
    later = second.frames[1:]
    reply = await Message.objects.aget(pk=reply_id)
    assert answer_so_far + streamed(later, reply_id, "answer") == reply.content
    assert reasoning_so_far + streamed(later, reply_id, "reasoning") == reply.reasoning
    assert streamed(first.frames, reply_id, "answer") == reply.content


async def test_a_socket_opened_after_the_answer_gets_the_finished_answer(
    sockets, alice_session, alice_conversation
):
    """A page that was away while the answer finished must not stay at "Thinking…"."""
    first = await sockets(alice_conversation.public_id, alice_session)
    await first.send(message="Quick one", reasoning_effort="low")
    finished = await first.receive_final("complete")
    later = await sockets(alice_conversation.public_id, alice_session)
    assert later.connected
    caught_up = await later.receive_final("complete")
    assert message_pk(caught_up) == message_pk(finished)
    assert await later.nothing_more()


async def test_a_page_that_missed_a_turn_gets_the_latest_messages_on_connect(
    sockets, alice_session, alice_conversation
):
    """A tab whose socket was away (a server restart) while another tab sent."""
    other_tab = await sockets(alice_conversation.public_id, alice_session)
    first_reply = await other_tab.ask("First question")
    # This tab's page was loaded now: it shows the first turn.
    second_reply = await other_tab.ask("Second question")

    back = await sockets(alice_conversation.public_id, alice_session, seen=first_reply)

    caught_up = parse(await back.receive()).by_id("messages")
    # The live region itself is replaced: a screen reader reads what is added to
    # a live region, and filling this one read the whole conversation out again.
    assert caught_up.get("hx-swap-oob") == "true"
    assert (caught_up.get("aria-live"), caught_up.get("aria-label")) == ("polite", "Messages")
    assert not [node for node in caught_up.iter() if node.has("hx-swap-oob")]
    shown = [article.get("id") for article in all_by_role(caught_up, "article")]
    assert shown[-2:] == [f"message-{second_reply - 1}", f"message-{second_reply}"]
    assert "Second question" in caught_up.visible_text


async def test_a_turn_saved_while_the_catch_up_reads_is_shown_once(
    monkeypatch, sockets, alice_session, alice_conversation
):
    catch_up = consumers.ConversationConsumer._catch_up

    async def behind_a_busy_database(self):
        if self.scope["query_string"]:  # the reconnecting page's socket
            await asyncio.sleep(0.3)  # the other tab's send commits meanwhile
        await catch_up(self)

    monkeypatch.setattr(consumers.ConversationConsumer, "_catch_up", behind_a_busy_database)
    other_tab = await sockets(alice_conversation.public_id, alice_session)
    reconnecting = await sockets(alice_conversation.public_id, alice_session, seen=0)
    await other_tab.send(message="Hello there", reasoning_effort="low")
    await other_tab.receive_final()
    await reconnecting.receive_final()

    questions = [a for f in reconnecting.frames for a in all_by_role(parse(f), "article", "You")]
    assert len(questions) == 1, "a second copy of the question was appended"


async def test_a_page_that_shows_everything_gets_no_list_again(
    sockets, alice_session, alice_conversation
):
    tab = await sockets(alice_conversation.public_id, alice_session)
    reply = await tab.ask("A question")

    fresh_page = await sockets(alice_conversation.public_id, alice_session, seen=reply)

    first = parse(await fresh_page.receive())
    assert first.find_all(id="messages") == []
    assert first.find_all("article", id=f"message-{reply}")


async def test_every_tab_of_the_conversation_sees_the_stream(
    sockets, alice_session, alice_conversation
):
    tab_a = await sockets(alice_conversation.public_id, alice_session)
    tab_b = await sockets(alice_conversation.public_id, alice_session)
    await tab_a.send(message="Hello from tab A", reasoning_effort="low")
    final_b = await tab_b.receive_final("complete")
    final_a = await tab_a.receive_final("complete")
    reply_id = message_pk(final_a)
    assert message_pk(final_b) == reply_id
    assert turn_articles(next(f for f in tab_b.frames if turn_articles(f)))
    content = (await Message.objects.aget(pk=reply_id)).content
    assert streamed(tab_b.frames, reply_id, "answer") == content
    # Only the sender's composer is reset.
    assert not any('id="message-input"' in f for f in tab_b.frames)


async def test_closing_the_tab_does_not_stop_the_answer(
    settings, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.005
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Keep going without me", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()
    await socket.communicator.disconnect()
    socket.connected = False

    async def finished():
        reply = await Message.objects.aget(pk=reply_id)
        return reply.status != Status.STREAMING and reply

    reply = await wait_for(finished, timeout=10)
    assert reply.status == Status.COMPLETE
    assert "def answer" in reply.content


async def test_reloading_after_streaming_shows_every_message_whole(
    sockets, alice, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    for question in ["First question", "Second question"]:
        await socket.send(message=question, reasoning_effort="low")
        await socket.receive_final("complete")

    client = AsyncClient()
    await client.aforce_login(alice)
    response = await client.get(alice_conversation.get_absolute_url())
    root = parse(response.content.decode())
    articles = all_by_role(by_role(root, "region", "Messages"), "article")
    saved = await messages_of(alice_conversation)
    assert [a.get("id") for a in articles] == [f"message-{m.pk}" for m in saved]
    assert [(a.get("data-role"), a.get("data-status")) for a in articles] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ] * 2
    for article, message in zip(articles, saved, strict=True):
        if message.role == "user":
            assert article.find(class_="user-text").visible_text == message.content
            continue
        details = article.find("details")
        assert not details.has("open")
        assert details.find("summary").visible_text.startswith("Thought for")
        assert article.by_id(f"message-{message.pk}-reasoning").text == message.reasoning
        answer = article.by_id(f"message-{message.pk}-answer")
        assert "markdown" in answer.get("class").split()
        assert answer.find_all("table")
        assert answer.find("pre").get("data-language") == "python"
    assert by_role(root, "heading", "First question").tag == "h1"


async def test_streamed_text_reaches_the_page_as_text_never_as_markup(
    sockets, alice_session, alice_conversation
):
    """The model repeats what it is asked (the simulator does, in both panes):
    a tag in a delta must be shown, not run, in every viewer's page."""
    hostile = 'Explain <img src=x onerror="alert(1)"> & <script>alert(2)</script>'
    socket = await sockets(alice_conversation.public_id, alice_session)

    await socket.send(message=hostile, model="o4-mini", reasoning_effort="low")
    final = await socket.receive_final("complete")
    reply_id = message_pk(final)
    delta_frames = [frame for frame in socket.frames if "beforeend:#message-" in frame]

    assert hostile in streamed(socket.frames, reply_id, "reasoning")
    assert hostile in streamed(socket.frames, reply_id, "answer")
    for frame in delta_frames:
        assert "<img" not in frame and "<script" not in frame
        assert not parse(frame).find_all("img") and not parse(frame).find_all("script")
