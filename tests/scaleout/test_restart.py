"""A server killed mid-stream leaves an answer that says so, keeps its text, and can be retried.

One daphne process on a SQLite file: killed with SIGKILL while it streams an
answer, then started again on the same file. With one process, every answer
still ``streaming`` when the process starts is an orphan, and is marked
``interrupted`` when the first request arrives.
"""

import asyncio
import time

import pytest

from .harness import (
    MODEL,
    Server,
    Socket,
    Visitor,
    article,
    create_user,
    final_article,
    manage,
    new_assistant_message,
    server_environment,
    stored_message,
)


def same_start(one: str, other: str) -> bool:
    return one.startswith(other) or other.startswith(one)


@pytest.fixture
def server(tmp_path, simulator, start_single_server) -> Server:
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env = server_environment(database_url, simulator)
    manage(env, "migrate", "--noinput")
    create_user(env, "restarter")
    return start_single_server(env)


async def test_a_killed_server_leaves_the_answer_interrupted_with_its_text_and_a_retry(server):
    database_url = server.env["DATABASE_URL"]
    visitor = Visitor(server, "restarter")
    conversation = visitor.new_conversation()
    tab = await Socket.open(server, conversation, visitor.session)
    await tab.send(
        action="send", message="Restart token kappa-4 now", model=MODEL, reasoning_effort="medium"
    )
    message = await tab.wait_for(new_assistant_message)
    # Well into the answer, and long enough after it began that a batch was saved.
    await tab.wait_for(lambda f: len(tab.streamed(message)[1]) >= 40)
    await asyncio.sleep(0.6)
    assert not any(final_article(f, message) for f in tab.frames), "finished before the kill"
    server.stop(kill=True)
    await tab.close()
    seen_reasoning, seen_answer = tab.streamed(message)

    before = stored_message(database_url, message)
    assert before["status"] == "streaming"
    assert before["content"], "no answer text was saved while streaming"
    # Saved in batches, sent in smaller ones: either may be a little ahead of the other.
    assert same_start(seen_answer, before["content"])
    assert same_start(seen_reasoning, before["reasoning"]) and "kappa-4" in before["reasoning"]

    server.start()
    # The websocket is the first request to reach the new process.
    watcher = await Socket.open(server, conversation, visitor.session)
    try:
        deadline = time.monotonic() + 15
        while True:
            shown = article(visitor.page(conversation), message)
            assert shown is not None
            if shown.status != "streaming" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert shown.status == "interrupted"
        assert "The server stopped while this answer was being written" in shown.markup
        assert "Retry" in shown.markup
        assert shown.reasoning == before["reasoning"]
        assert before["content"].split("*")[0].strip() in shown.answer_words

        after = stored_message(database_url, message)
        assert after["status"] == "interrupted"
        assert (after["content"], after["reasoning"]) == (before["content"], before["reasoning"])
        assert after["generation_channel"] == ""

        # A tab open while recovery ran was told; one that connected just after sees the page.
        told = next((a for f in watcher.frames if (a := final_article(f, message))), None)
        if told is not None:
            assert told.status == "interrupted" and "Retry" in told.markup
            assert told.reasoning == before["reasoning"]
        offered = [article(f, message) for f in watcher.frames]
        assert not any(a and a.status == "streaming" for a in offered), "dead stream offered"

        # Retry from the tab: a new version streams in its place and completes.
        start = len(watcher.frames)
        await watcher.send(action="regenerate", message_id=str(message))
        retry = await watcher.wait_for(
            lambda f: next(
                (
                    a
                    for a in (article(f, m) for m in range(message + 1, message + 5))
                    # In place of whichever version of the answer the tab shows.
                    if a is not None and a.oob.startswith("outerHTML:article[data-answers=")
                ),
                None,
            ),
            start=start,
        )
        assert retry.status == "streaming"
        final = await watcher.wait_for(lambda f: final_article(f, retry.message_id), start=start)
        assert final.status == "complete"
        page = visitor.page(conversation)
        retried = article(page, retry.message_id)
        assert retried is not None and retried.status == "complete"
        assert "Version 2 of 2" in retried.markup
        assert article(page, message) is None, "the interrupted answer is an earlier version now"
        assert stored_message(database_url, message)["status"] == "interrupted"
    finally:
        await watcher.close()
        visitor.close()


async def test_a_server_told_to_stop_ends_its_answers_as_interrupted_with_all_their_text(server):
    """SIGTERM (every release, every scale-down) stopped the process within a tenth of a
    second: its answers stayed "streaming" until recovery found them, and the text
    streamed since the last batched save was lost."""
    database_url = server.env["DATABASE_URL"]
    visitor = Visitor(server, "restarter")
    conversation = visitor.new_conversation()
    tab = await Socket.open(server, conversation, visitor.session)
    try:
        await tab.send(
            action="send", message="Stop token sigma-7 now", model=MODEL, reasoning_effort="medium"
        )
        message = await tab.wait_for(new_assistant_message)
        await tab.wait_for(lambda f: len(tab.streamed(message)[1]) >= 40)
        server.stop()  # SIGTERM, as docker stop sends

        stored = stored_message(database_url, message)
        seen_reasoning, seen_answer = tab.streamed(message)
        assert stored["status"] == "interrupted"
        assert stored["generation_channel"] == ""
        # Everything the viewers were shown is kept, not only the last batched save.
        assert stored["content"].startswith(seen_answer)
        assert stored["reasoning"].startswith(seen_reasoning) and "sigma-7" in stored["reasoning"]
    finally:
        await tab.close()
        visitor.close()
