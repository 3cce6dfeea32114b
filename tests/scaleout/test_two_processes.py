"""Two daphne processes on one PostgreSQL database and one Redis channel layer.

A browser on process A sees live, stops and catches up with generations that
process B runs: the stream crosses processes through Redis and nothing is
lost or shown twice.
"""

import asyncio
import itertools

import pytest

from .harness import (
    MODEL,
    Socket,
    article,
    deltas,
    final_article,
    new_assistant_message,
    stored_message,
)

pytestmark = pytest.mark.scaleout

# The longest pause between two live deltas a watching tab may see while the
# simulator sends a chunk every few tens of milliseconds.
MAX_DELTA_GAP = 1.5


def assert_live(tab: Socket, message_id: int) -> None:
    """The tab got the message's text in many pieces as it was written, not all at the end."""
    started = tab.times[next(i for i, f in enumerate(tab.frames) if new_assistant_message(f))]
    arrivals = [t for t, f in zip(tab.times, tab.frames, strict=True) if any(deltas(f, message_id))]
    assert len(arrivals) >= 5, f"the text came in {len(arrivals)} pieces"
    assert arrivals[0] - started < MAX_DELTA_GAP, (
        f"the first delta came {arrivals[0] - started:.1f} s after the turn began"
    )
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert max(gaps) < MAX_DELTA_GAP, f"deltas held back for {max(gaps):.1f} s"


@pytest.fixture(autouse=True)
def _logs(cluster, show_logs_on_failure):
    show_logs_on_failure.extend([cluster.a, cluster.b])


async def test_a_sees_live_and_stops_a_generation_running_in_b(cluster):
    conversation = cluster.visitor.new_conversation()
    session = cluster.visitor.session
    on_a = await Socket.open(cluster.a, conversation, session)
    on_b = await Socket.open(cluster.b, conversation, session)
    try:
        # A generation sent on B streams live to the tab on A.
        await on_b.send(
            action="send", message="Relay token alpha-7 across", model=MODEL, reasoning_effort="low"
        )
        first = await on_a.wait_for(new_assistant_message)
        final = await on_a.wait_for(lambda f: final_article(f, first))
        assert final.status == "complete"
        assert_live(on_a, first)
        reasoning, answer = on_a.streamed(first)
        stored = stored_message(cluster.database_url, first)
        assert stored["status"] == "complete"
        assert "alpha-7" in reasoning
        assert (reasoning, answer) == (stored["reasoning"], stored["content"])
        assert final.reasoning == stored["reasoning"]
        # The tab on B, where it runs, assembled exactly the same.
        await on_b.wait_for(lambda f: final_article(f, first))
        assert on_b.streamed(first) == (reasoning, answer)

        # A second one sent on B, stopped from A once the answer has begun.
        await on_b.send(
            action="send", message="Relay token beta-9 again", model=MODEL, reasoning_effort="high"
        )
        second = await on_a.wait_for(new_assistant_message, start=len(on_a.frames))
        start = len(on_a.frames)
        await on_a.wait_for(lambda f: on_a.streamed(second, start)[1], start=start)
        await on_a.send(action="stop")
        stopped = await on_a.wait_for(lambda f: final_article(f, second), start=start)
        assert stopped.status == "stopped"
        assert "Stopped. The answer so far is kept." in stopped.markup
        assert "Retry" in stopped.markup
        reasoning, answer = on_a.streamed(second, start)
        stored = stored_message(cluster.database_url, second)
        assert stored["status"] == "stopped"
        assert stored["generation_channel"] == ""
        assert answer and stored["content"] == answer
        assert stored["reasoning"] == reasoning
        assert "beta-9" in stored["reasoning"]
        # Partial: the full answer ends with a code block that never arrived.
        assert "def answer" not in stored["content"]
        on_b_final = await on_b.wait_for(lambda f: final_article(f, second))
        assert on_b_final.status == "stopped"

        # Both processes' pages show the kept partial answer.
        for server in (cluster.a, cluster.b):
            page = article(cluster.visitor.page(conversation, server), second)
            assert page is not None and page.status == "stopped"
            assert page.reasoning == stored["reasoning"]
            assert stored["content"].split("*")[0].strip() in page.answer_words
            assert "Retry" in page.markup
    finally:
        await on_a.close()
        await on_b.close()


async def test_tab_opened_on_a_mid_stream_catches_up_with_b_without_gap_or_duplicate(cluster):
    conversation = cluster.visitor.new_conversation()
    session = cluster.visitor.session
    on_b = await Socket.open(cluster.b, conversation, session)
    watcher = await Socket.open(cluster.a, conversation, session)
    late = None
    try:
        await on_b.send(
            action="send",
            message="Relay token gamma-3 late",
            model=MODEL,
            reasoning_effort="medium",
        )
        message = await watcher.wait_for(new_assistant_message)
        # Mid-stream: some reasoning has been shown, and there is plenty still to come.
        await watcher.wait_for(lambda f: len(watcher.streamed(message)[0]) > 200)
        late = await Socket.open(cluster.a, conversation, session)

        await late.wait_for(lambda f: True)
        snapshot = article(late.frames[0], message)
        assert snapshot is not None, f"the first frame is not the snapshot: {late.frames[0]}"
        assert snapshot.status == "streaming" and snapshot.oob == "true"
        assert len(snapshot.reasoning) > 200, "the snapshot carries the reasoning so far"
        final = await late.wait_for(lambda f: final_article(f, message))
        assert final.status == "complete"

        after_reasoning, after_answer = late.streamed(message, start=1)
        assert after_answer, "no live deltas after the snapshot"
        reasoning = snapshot.reasoning + after_reasoning
        answer = snapshot.streamed_answer + after_answer
        stored = stored_message(cluster.database_url, message)
        assert reasoning == stored["reasoning"]
        assert answer == stored["content"]
        assert "gamma-3" in reasoning
        # The tabs that watched from the start assembled the very same text.
        for tab in (watcher, on_b):
            await tab.wait_for(lambda f: final_article(f, message))
            assert tab.streamed(message) == (reasoning, answer)
    finally:
        for tab in (on_b, watcher, late):
            if tab is not None:
                await tab.close()


async def test_a_first_tab_on_a_opened_mid_stream_gets_the_rest_live(cluster):
    # B streams to no other process until someone there asks for the answer so far.
    conversation = cluster.visitor.new_conversation()
    session = cluster.visitor.session
    on_b = await Socket.open(cluster.b, conversation, session)
    late = None
    try:
        await on_b.send(
            action="send", message="Relay token delta-4 alone", model=MODEL, reasoning_effort="high"
        )
        message = await on_b.wait_for(new_assistant_message)
        await on_b.wait_for(lambda f: len(on_b.streamed(message)[0]) > 200)
        late = await Socket.open(cluster.a, conversation, session)

        await late.wait_for(lambda f: True)
        snapshot = article(late.frames[0], message)
        assert snapshot is not None and snapshot.status == "streaming"
        await late.wait_for(lambda f: final_article(f, message))
        after_reasoning, after_answer = late.streamed(message, start=1)
        pieces = [f for f in late.frames[1:] if any(deltas(f, message))]
        assert len(pieces) >= 5, f"after the snapshot the text came in {len(pieces)} pieces"
        stored = stored_message(cluster.database_url, message)
        assert snapshot.reasoning + after_reasoning == stored["reasoning"]
        assert snapshot.streamed_answer + after_answer == stored["content"]
    finally:
        for tab in (on_b, late):
            if tab is not None:
                await tab.close()


async def test_a_tab_on_the_generating_process_streams_live_too(cluster, show_logs_on_failure):
    # A fresh process. Its generating task listens on a channel of its own; on the Redis
    # layer every channel of a process shares one reader, so a listener on a channel
    # named outside that reader (new_channel("generation.")) held this tab's deltas back.
    fresh = cluster.start_server("C")
    show_logs_on_failure.append(fresh)
    conversation = cluster.visitor.new_conversation()
    here = await Socket.open(fresh, conversation, cluster.visitor.session)
    try:
        await here.send(
            action="send", message="Relay token delta-5 local", model=MODEL, reasoning_effort="high"
        )
        message = await here.wait_for(new_assistant_message)
        await here.wait_for(lambda f: final_article(f, message))
        assert_live(here, message)
    finally:
        await here.close()


async def test_tabs_idle_longer_than_the_redis_poll_stay_connected(cluster):
    conversation = cluster.visitor.new_conversation()
    session = cluster.visitor.session
    on_a = await Socket.open(cluster.a, conversation, session)
    on_b = await Socket.open(cluster.b, conversation, session)
    try:
        await asyncio.sleep(7)
        assert on_a.is_open and on_b.is_open, "an idle tab was disconnected"
        await on_b.send(
            action="send", message="Relay token eps-2 idle", model=MODEL, reasoning_effort="high"
        )
        message = await on_a.wait_for(new_assistant_message)
        await on_a.wait_for(lambda f: final_article(f, message))
        assert on_a.is_open and on_b.is_open
    finally:
        await on_a.close()
        await on_b.close()
