"""PostgreSQL drops every connection (a restart, a failover): the open app carries on.

One daphne process keeping its connections between uses, as in production
(``CONN_MAX_AGE=60``). Once PostgreSQL has ended all of them, a tab that
stayed open sends and stops, and a new tab connects, at the first try:
every way in checks its connection before use and replaces a dead one.
"""

import pytest

from .harness import (
    MODEL,
    Server,
    Socket,
    Visitor,
    create_user,
    final_article,
    manage,
    new_assistant_message,
    server_environment,
    stored_message,
)


@pytest.fixture(scope="module")
def environment(simulator, postgres_database) -> dict[str, str]:
    env = server_environment(postgres_database, simulator, CONN_MAX_AGE="60")
    manage(env, "migrate", "--noinput")
    create_user(env, "survivor")
    return env


@pytest.fixture
def server(environment, start_single_server) -> Server:
    return start_single_server(environment)


def end_every_connection(database_url: str) -> int:
    """What a PostgreSQL restart does to the app: every session of its database ends."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    return ended


async def ask(tab: Socket, text: str) -> int:
    """Send ``text``; the id of the answer it starts."""
    start = len(tab.frames)
    await tab.send(action="send", message=text, model=MODEL, reasoning_effort="low")
    return await tab.wait_for(new_assistant_message, start=start)


async def test_after_postgresql_ends_every_connection_open_and_new_tabs_carry_on(server):
    visitor = Visitor(server, "survivor")
    conversation = visitor.new_conversation()
    open_tab = await Socket.open(server, conversation, visitor.session)
    first = await ask(open_tab, "Before the restart")
    await open_tab.wait_for(lambda frame: final_article(frame, first))

    assert end_every_connection(server.env["DATABASE_URL"]) > 0, "the app held no connection"

    # The tab that stayed open sends, and stops an answer.
    second = await ask(open_tab, "After the restart")
    await open_tab.wait_for(lambda frame: final_article(frame, second))
    third = await ask(open_tab, "Stop this one")
    # Again, so that stopping meets dead connections too (the saves since replaced them).
    end_every_connection(server.env["DATABASE_URL"])
    await open_tab.send(action="stop")
    stopped = await open_tab.wait_for(lambda frame: final_article(frame, third))
    assert stopped.status == "stopped"
    # A new tab reads the newest answer back on connect, once more after a restart.
    end_every_connection(server.env["DATABASE_URL"])
    new_tab = await Socket.open(server, conversation, visitor.session)
    assert (await new_tab.wait_for(lambda frame: final_article(frame, third))).status == "stopped"
    for tab in (open_tab, new_tab):
        await tab.close()
    assert "Traceback" not in server.log()
    visitor.close()


async def test_an_answer_streaming_while_postgresql_ends_every_connection_is_saved_whole(server):
    visitor = Visitor(server, "survivor")
    conversation = visitor.new_conversation()
    tab = await Socket.open(server, conversation, visitor.session)
    await tab.send(action="send", message="Think it through", model=MODEL, reasoning_effort="high")
    message = await tab.wait_for(new_assistant_message)
    await tab.wait_for(lambda frame: len(tab.streamed(message)[0]) >= 40)

    assert end_every_connection(server.env["DATABASE_URL"]) > 0, "the app held no connection"

    finished = await tab.wait_for(lambda frame: final_article(frame, message))
    assert finished.status == "complete"
    reasoning, answer = tab.streamed(message)
    stored = stored_message(server.env["DATABASE_URL"], message)
    assert stored["status"] == "complete"
    assert (stored["reasoning"], stored["content"]) == (reasoning, answer)
    await tab.close()
    assert "Traceback" not in server.log()
    visitor.close()
