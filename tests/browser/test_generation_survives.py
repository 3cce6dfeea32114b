"""Issue 4 in Chromium: answers survive Stop, reloads, other tabs, crashes and gateway errors.

The journeys that act mid-answer run on ``slow_server`` (or a slow server of
their own), whose simulator streams slowly enough for a person to click in time.
"""

import re

from playwright.sync_api import Page, expect

from .conftest import LiveServer, log_in
from .journeys import (
    answers,
    assert_only_grew,
    new_conversation,
    questions,
    record_streams,
    send,
    streamed,
    wait_until,
)

STILL_WRITING = (
    "A reply is still being written in this conversation. Wait for it to finish or stop it first."
)


def test_stop_mid_reasoning_keeps_the_reasoning_and_retry_answers_again(new_page, slow_server):
    page = new_page(slow_server)
    log_in(page, slow_server)
    new_conversation(page)
    send(page, "Why is the sky blue at noon and red at dusk?", effort="Low")

    reply = answers(page).last
    expect(reply).to_have_attribute("data-status", "streaming")
    summary = reply.locator("summary")
    reasoning = reply.locator(".reasoning-text")
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_visible()
    wait_until(page, lambda: "Step 1:" in reasoning.text_content(), "the model to start thinking")
    expect(summary).to_contain_text("Thinking…")
    stop.click()

    expect(reply).to_have_attribute("data-status", "stopped")
    expect(stop).to_be_hidden()
    expect(reply).to_contain_text("Stopped. The answer so far is kept.")
    expect(summary).to_contain_text("Thought for")
    kept = reasoning.text_content()
    assert "Step 1:" in kept, "the reasoning so far is kept"
    assert "I have enough to answer clearly." not in kept, "Stop came after the reasoning ended"
    assert reply.locator(".answer").text_content().strip() == "", "no answer was written yet"
    # A person opens the pane to read what the model had thought.
    summary.click()
    expect(reasoning).to_be_visible()
    expect(reasoning).to_contain_text("Let me break the question into parts")
    expect(reply.get_by_role("button", name="Regenerate")).to_have_count(0)

    # Stopped is not final: Retry writes a new answer, the stopped one stays as version 1.
    reply.get_by_role("button", name="Retry").click()
    expect(answers(page)).to_have_count(1)
    retried = answers(page).last
    expect(retried).to_have_attribute("data-status", "streaming")
    expect(retried).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(retried.locator(".answer")).to_contain_text("Here is a simulated answer")
    versions = retried.get_by_role("group", name="Answer versions")
    expect(versions).to_contain_text("Version 2 of 2")
    expect(retried.get_by_role("button", name="Regenerate")).to_be_visible()

    versions.get_by_role("button", name="Previous version").click()
    earlier = answers(page).last
    expect(earlier.get_by_role("group", name="Answer versions")).to_contain_text("Version 1 of 2")
    expect(earlier).to_have_attribute("data-status", "stopped")
    expect(earlier).to_contain_text("Stopped. The answer so far is kept.")
    assert earlier.locator(".reasoning-text").text_content() == kept
    expect(earlier.get_by_role("button", name="Previous version")).to_be_disabled()
    earlier.get_by_role("button", name="Next version").click()
    newest = answers(page).last
    expect(newest.get_by_role("group", name="Answer versions")).to_contain_text("Version 2 of 2")
    expect(newest).to_have_attribute("data-status", "complete")


def test_reloading_mid_answer_continues_it_without_gap_or_duplicate(new_page, slow_server):
    page = new_page(slow_server)
    record_streams(page.context)
    log_in(page, slow_server)
    new_conversation(page)
    # The reference: a second tab on the same conversation that is never reloaded.
    reference = page.context.new_page()
    reference.goto(page.url)
    expect(reference.get_by_label("Message", exact=True)).to_be_editable()

    send(page, "Explain how a B-tree stays balanced.", effort="Low")
    reply = answers(page).last
    answer = reply.locator(".answer")
    wait_until(page, lambda: len(answer.text_content()) > 20, "the answer to start", 20)
    expect(reply).to_have_attribute("data-status", "streaming")
    before = answer.text_content()
    page.reload()

    reply = answers(page).last
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(reply.locator("summary")).to_contain_text("Thought for")
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    seen = answers(reference).last
    expect(seen).to_have_attribute("data-status", "complete")

    mine, theirs = streamed(page, reply), streamed(reference, seen)
    # The reloaded page first shows the text saved so far (perhaps a little behind),
    # then all of it at once, then the live deltas: it only ever grows.
    assert_only_grew(mine["answer"], "the reloaded page's answer")
    assert_only_grew(theirs["answer"], "the reference page's answer")
    caught_up = [state for state in mine["answer"] if state.startswith(before)]
    assert caught_up, f"the reloaded page never showed what it had before: {before!r}"
    assert len(caught_up) > 1, "deltas kept arriving after the reload"
    # Just before completion both pages held exactly the same streamed text.
    assert mine["answer"][-1] == theirs["answer"][-1]
    assert mine["answer"][-1].count("Here is a simulated answer") == 1
    assert mine["answer"][-1].rstrip().endswith("```"), "the whole answer streamed"
    assert mine["reasoning"][-1] == theirs["reasoning"][-1]
    # And the final, rendered answers are the same too.
    assert reply.locator(".answer").inner_text() == seen.locator(".answer").inner_text()
    assert reply.locator(".reasoning-text").text_content() == (
        seen.locator(".reasoning-text").text_content()
    )
    expect(reply.locator(".answer").get_by_role("table")).to_be_visible()


def test_two_tabs_stream_together_and_a_second_send_waits(new_page, slow_server):
    first = new_page(slow_server)
    record_streams(first.context)
    log_in(first, slow_server)
    new_conversation(first)
    second = first.context.new_page()
    second.goto(first.url)
    expect(second.get_by_label("Message", exact=True)).to_be_editable()

    send(first, "Compare merge sort and quicksort.", effort="Low")
    watched = answers(second).last
    expect(questions(second).last).to_contain_text("Compare merge sort and quicksort.")
    expect(watched).to_have_attribute("data-status", "streaming")
    expect(watched.locator("summary")).to_contain_text("Thinking…")
    wait_until(
        second,
        lambda: len(streamed(second, watched)["reasoning"]) >= 4,
        "the reasoning to grow live in the second tab",
    )

    # The second tab asks something while the answer is still being written.
    follow_up = "And which one is stable?"
    second.get_by_label("Message", exact=True).fill(follow_up)
    second.get_by_role("button", name="Send", exact=True).click()
    expect(second.get_by_role("status")).to_have_text(STILL_WRITING)
    expect(second.get_by_label("Message", exact=True)).to_have_value(follow_up)
    expect(questions(first)).to_have_count(1)

    sent = answers(first).last
    expect(sent).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(watched).to_have_attribute("data-status", "complete")
    for page, article in ((first, sent), (second, watched)):
        states = streamed(page, article)
        assert_only_grew(states["reasoning"], "the reasoning")
        assert_only_grew(states["answer"], "the answer")
    assert streamed(first, sent) == streamed(second, watched), "both tabs saw the same stream"
    assert sent.locator(".answer").inner_text() == watched.locator(".answer").inner_text()
    assert sent.locator(".answer").inner_text().startswith("Here is a simulated answer")

    # Nothing was lost: once the answer is done, the waiting question goes out.
    expect(second.get_by_label("Message", exact=True)).to_have_value(follow_up)
    second.get_by_role("button", name="Send", exact=True).click()
    expect(questions(first)).to_have_count(2)
    expect(questions(first).last).to_contain_text(follow_up)
    expect(second.get_by_label("Message", exact=True)).to_have_value("")
    expect(answers(first)).to_have_count(2)
    expect(answers(second).last).to_have_attribute("data-status", "streaming")


def test_a_server_crash_mid_answer_leaves_it_interrupted_and_retry_completes(
    start_server, new_page
):
    server: LiveServer = start_server("crash", SIMULATOR_CHUNK_DELAY="0.08")
    page = new_page(server)
    log_in(page, server)
    new_conversation(page)
    send(page, "Summarise the CAP theorem.", effort="Low")
    reply = answers(page).last
    answer = reply.locator(".answer")
    wait_until(page, lambda: answer.text_content().strip(), "the answer to start", 20)
    # Long enough for the server to have saved some of the answer (once a second).
    page.wait_for_timeout(1_300)
    expect(reply).to_have_attribute("data-status", "streaming")
    shown = answer.text_content()

    server.restart(kill=True)

    # The page reconnects by itself and learns what happened.
    expect(reply).to_have_attribute("data-status", "interrupted", timeout=20_000)
    note = reply.get_by_role("alert")
    expect(note).to_have_text(
        "The server stopped while this answer was being written; what arrived is kept."
    )
    kept = reply.locator(".answer").inner_text()
    assert kept.startswith("Here is a simulated answer"), kept
    assert len(kept) < len("Here is a simulated answer") + 400, "only part of the answer"
    # Rendered now: the streamed markdown's "*topic*" is emphasis.
    assert shown.replace("*", "").startswith(kept.split("\n")[0]), "the kept text had streamed"
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden()

    # After a reload it is still so: the state is stored, not just shown.
    page.reload()
    reply = answers(page).last
    expect(reply).to_have_attribute("data-status", "interrupted")
    expect(reply.get_by_role("alert")).to_contain_text("The server stopped")
    reply.get_by_role("button", name="Retry").click()
    retried = answers(page).last
    expect(retried).to_have_attribute("data-status", "complete", timeout=25_000)
    expect(retried.get_by_role("group", name="Answer versions")).to_contain_text("Version 2 of 2")
    expect(retried.locator(".answer").get_by_role("table")).to_be_visible()


def test_a_tab_showing_an_earlier_version_sees_a_new_one_stream(new_page, slow_server):
    first = new_page(slow_server)
    log_in(first, slow_server)
    new_conversation(first)
    send(first, "Name a sorting algorithm.", effort="Low")
    expect(answers(first).last).to_have_attribute("data-status", "complete", timeout=30_000)
    answers(first).last.get_by_role("button", name="Regenerate").click()
    versions = answers(first).last.get_by_role("group", name="Answer versions")
    expect(versions).to_contain_text("Version 2 of 2", timeout=30_000)

    # Another tab pages back to the first version.
    second = first.context.new_page()
    second.goto(first.url)
    answers(second).last.get_by_role("button", name="Previous version").click()
    expect(answers(second).last.get_by_role("group", name="Answer versions")).to_contain_text(
        "Version 1 of 2"
    )

    answers(first).last.get_by_role("button", name="Regenerate").click()

    # The new version takes the earlier one's place, streams with no pager, then has one.
    newest = answers(second).last
    expect(newest).to_have_attribute("data-status", "streaming")
    expect(newest.get_by_role("group", name="Answer versions")).to_have_count(0)
    wait_until(second, lambda: newest.locator(".reasoning").text_content().strip(), "reasoning")
    expect(newest).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(newest.get_by_role("group", name="Answer versions")).to_contain_text("Version 3 of 3")
    expect(answers(second)).to_have_count(1)


# A turn written while the page's socket was away (another tab, on another process).
TURN_WHILE_AWAY = """
from chatapp.chat.models import Conversation, Message
conversation = Conversation.objects.get(public_id="{public_id}")
question = Message.objects.create(
    conversation=conversation, role="user", content="Asked in another tab"
)
Message.objects.create(
    conversation=conversation, role="assistant", in_reply_to=question, model="o4-mini",
    content="Answered while you were away.", rendered_html="<p>Answered while you were away.</p>",
)
"""


def test_a_page_whose_socket_was_away_shows_the_turn_it_missed(start_server, new_page):
    server: LiveServer = start_server("away")
    page = new_page(server)
    log_in(page, server)
    new_conversation(page)
    send(page, "First question", effort="Low")
    expect(answers(page).last).to_have_attribute("data-status", "complete", timeout=20_000)
    public_id = re.search(r"/c/([0-9a-f-]{36})/", page.url).group(1)

    server.stop()
    server.manage("shell", "-c", TURN_WHILE_AWAY.format(public_id=public_id))
    server.start()

    # The page reconnects by itself and shows the turn, with no reload.
    expect(questions(page)).to_have_count(2, timeout=20_000)
    expect(questions(page).last).to_contain_text("Asked in another tab")
    expect(answers(page).last).to_contain_text("Answered while you were away.")
    expect(answers(page).first).to_contain_text("Here is a simulated answer")


def test_a_gateway_error_is_a_clear_sentence(page: Page, app_server):
    log_in(page, app_server)
    new_conversation(page)
    send(page, "Hello there #fault:401")
    reply = answers(page).last
    expect(reply).to_have_attribute("data-status", "error")
    error = reply.get_by_role("alert")
    expect(error).to_have_text(
        "Simulator rejected the API key. An administrator needs to check the key "
        "configured for Simulator."
    )
    text = reply.inner_text()
    for leak in ("Traceback", "Error:", 'File "', "Incorrect API key", "Bearer", "401"):
        assert leak not in text, f"{leak!r} shown to the user"
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden()
    expect(reply.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_be_editable()
    assert re.search(r"o4-mini", reply.locator("footer").inner_text())
