"""The reasoning pane: by keyboard, and its thinking timer."""

import re

from playwright.sync_api import expect

from .conftest import log_in
from .journeys import answers, new_conversation, send


def test_the_reasoning_toggle_keeps_the_keyboard_focus(new_page, slow_server):
    page = new_page(slow_server)
    log_in(page, slow_server)
    new_conversation(page)
    send(page, "Think about it, then answer.", effort="Low")
    reply = answers(page).last
    thinking = reply.get_by_text("Thinking…")
    expect(thinking).to_be_visible()
    thinking.focus()
    expect(thinking).to_be_focused()

    # Thinking ends: the summary's text changes; the keyboard stays on it.
    thought = reply.get_by_text("Thought for")
    expect(thought).to_be_visible()
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(thought).to_be_focused()

    # The answer ends and is shown rendered: still on the toggle, and it still works.
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(thought).to_be_focused()
    page.keyboard.press("Enter")
    expect(reply.get_by_text("I have enough to answer clearly.")).to_be_visible()


def test_stop_and_regenerate_by_keyboard_leave_the_focus_in_the_composer(new_page, slow_server):
    page = new_page(slow_server)
    log_in(page, slow_server)
    new_conversation(page)
    send(page, "Start, and I will stop you.", effort="Low")
    reply = answers(page).last
    expect(reply).to_have_attribute("data-status", "streaming")
    stop = page.get_by_role("button", name="Stop")
    stop.focus()
    page.keyboard.press("Enter")
    expect(reply).to_have_attribute("data-status", "stopped")
    # The Stop button is gone; the keyboard is not thrown back to the page's start.
    message = page.get_by_label("Message", exact=True)
    expect(message).to_be_focused()

    retry = reply.get_by_role("button", name="Retry")
    retry.focus()
    page.keyboard.press("Enter")
    expect(answers(page).last).to_have_attribute("data-status", "streaming")
    expect(message).to_be_focused()


def test_paging_answer_versions_by_keyboard_keeps_the_focus_on_the_pager(page, app_server):
    log_in(page, app_server)
    new_conversation(page)
    send(page, "Answer me twice.", effort="Low")
    reply = answers(page).last
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    reply.get_by_role("button", name="Regenerate").click()
    expect(answers(page).last.get_by_text("Version 2 of 2")).to_be_visible(timeout=30_000)
    expect(answers(page).last).to_have_attribute("data-status", "complete", timeout=30_000)

    answers(page).last.get_by_role("button", name="Previous version").focus()
    page.keyboard.press("Enter")
    expect(answers(page).last.get_by_text("Version 1 of 2")).to_be_visible()
    # "Previous" is disabled at the first version: the keyboard is on "Next".
    expect(answers(page).last.get_by_role("button", name="Next version")).to_be_focused()
    page.keyboard.press("Enter")
    expect(answers(page).last.get_by_text("Version 2 of 2")).to_be_visible()
    expect(answers(page).last.get_by_role("button", name="Previous version")).to_be_focused()


def test_the_thinking_timer_counts_from_the_send_whatever_the_browsers_clock(new_page, slow_server):
    """A computer whose clock is an hour fast showed "Thinking… 60 min 0 s" at once:
    the timer compared the server's start time with the browser's clock."""
    page = new_page(slow_server)
    page.add_init_script(
        "(() => { const now = Date.now; Date.now = () => now() + 3600 * 1000; })()"
    )
    log_in(page, slow_server)
    new_conversation(page)
    send(page, "Think about it, then answer.", effort="Low")
    elapsed = answers(page).last.locator(".elapsed")
    expect(elapsed).to_have_text(re.compile(r"^\d s$"))
    # It ticks on from there, not from the browser's idea of the time.
    first = elapsed.text_content()
    expect(elapsed).not_to_have_text(first, timeout=5_000)
    expect(elapsed).to_have_text(re.compile(r"^\d{1,2} s$"))
