"""Issue 2, end to end in Chromium: a fresh install to a streamed, stored conversation.

Elements are found the way a person finds them: by role, label and text. The
``data-role``/``data-status`` attributes are the contract the issue names for
messages, so they are used where a person would read the state off the page.
"""

import re

from playwright.sync_api import Locator, expect

from .conftest import PASSWORD, LiveServer, log_in
from .journeys import wait_until

SCREENSHOT = "/tmp/chatapp-browser.png"
QUESTION = "How should I size a connection pool for a small Django app?"


def assert_rendered_answer(answer: Locator) -> None:
    """The simulator's markdown, rendered once: a list, a table and a highlighted code block."""
    expect(answer.get_by_role("list")).to_have_count(1)
    expect(answer.get_by_role("listitem")).to_have_count(3)
    expect(answer.get_by_role("table")).to_be_visible()
    expect(answer.get_by_role("columnheader", name="Effort")).to_be_visible()
    expect(answer.get_by_role("cell", name="high", exact=True)).to_be_visible()
    code = answer.locator("pre").last
    expect(code).to_contain_text("def answer(question: str) -> str:")
    # Pygments wraps tokens in spans; the streamed text had none.
    expect(code.locator("span").first).to_be_attached()
    expect(answer.locator("strong")).to_have_text("high")
    expect(answer).not_to_contain_text("```")
    expect(answer).not_to_contain_text("| --- |")
    expect(answer).not_to_contain_text("**")


def test_first_run_to_streamed_and_stored_conversation(start_server, new_page):
    # (start_server first: pages close before their server stops, so no reconnect noise.)
    # Its own server: the first-run page exists only while the database has no user.
    server: LiveServer = start_server("first-run")
    page = new_page(server)

    # A fresh install: any page leads to the set-up of the first account.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup/$"))
    expect(page.get_by_role("heading", name="Welcome to chatapp")).to_be_visible()
    page.get_by_label("Username").fill("admin")
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator account").click()
    expect(page.get_by_text("Signed in as admin")).to_be_visible()
    expect(page.get_by_role("link", name="Admin")).to_be_visible()

    # Log out; the set-up page is gone for good.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert page.goto("/setup/").status == 404

    # Log in with the new account.
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as admin")).to_be_visible()

    page.get_by_role("button", name="New conversation").click()
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("note")).to_contain_text("Replies are simulated")
    expect(page.get_by_label("Model", exact=True)).to_have_value("o4-mini")
    effort = page.get_by_label("Reasoning effort")
    expect(effort).to_be_enabled()
    effort.select_option(label="High")
    page.get_by_label("Message", exact=True).fill(QUESTION)
    page.get_by_role("button", name="Send", exact=True).click()

    # The user's message at once, then the assistant's reply, streaming.
    mine = page.get_by_role("article", name="You")
    expect(mine).to_have_attribute("data-role", "user")
    expect(mine).to_contain_text(QUESTION)
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
    reply = page.get_by_role("article", name="Assistant")
    expect(reply).to_have_attribute("data-role", "assistant")
    expect(reply).to_have_attribute("data-status", "streaming")

    # First the reasoning pane: open, "Thinking…" with a live timer, text growing.
    pane = reply.locator("details")
    summary = pane.locator("summary")
    reasoning = pane.locator(".reasoning-text")
    answer = reply.locator(".answer")
    expect(pane).to_have_attribute("open", "")
    expect(summary).to_contain_text("Thinking…")
    elapsed = summary.locator(".elapsed")
    expect(elapsed).to_have_text(re.compile(r"^\d+ s$"))
    first_seen = len(wait_until(page, reasoning.text_content, "reasoning text"))
    wait_until(
        page,
        lambda: len(reasoning.text_content()) > first_seen,
        "the reasoning text to grow",
    )
    timer_start = elapsed.text_content()
    wait_until(page, lambda: elapsed.text_content() != timer_start, "the elapsed time to tick")
    expect(summary).to_contain_text("Thinking…")
    assert answer.text_content().strip() == "", "the answer started before the reasoning ended"

    # Then "Thought for …", and the answer streams as plain text.
    expect(summary).to_contain_text("Thought for")
    # Its first words, however the deltas happened to cut them.
    opening = "Here is a simulated answer"
    wait_until(
        page, lambda: len(answer.text_content()) >= len(opening), "the answer to start streaming"
    )
    assert "Thinking…" not in summary.text_content()
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(reply.locator(".answer.streaming-text")).to_be_attached()
    assert answer.text_content().startswith(opening)

    # At the end: complete, rendered once as markdown instead of the streamed text.
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(reply.locator(".streaming-text")).to_have_count(0)
    answer = reply.locator(".answer.markdown")
    assert_rendered_answer(answer)
    expect(summary).to_have_text(re.compile(r"Thought for .+ · \d+ reasoning tokens"))
    expect(reasoning).to_contain_text("I have enough to answer clearly.")
    expect(reply).to_contain_text("effort high")
    final_reasoning = reasoning.text_content()
    assert "Step 30:" in final_reasoning, "high effort thinks in 30 steps"
    page.screenshot(path=SCREENSHOT)

    # Reload: everything is still there, the reasoning collapsed.
    page.reload()
    mine = page.get_by_role("article", name="You")
    reply = page.get_by_role("article", name="Assistant")
    expect(mine).to_contain_text(QUESTION)
    expect(reply).to_have_attribute("data-status", "complete")
    pane = reply.locator("details")
    assert pane.evaluate("details => details.open") is False
    expect(pane.locator(".reasoning-text")).to_be_hidden()
    expect(pane.locator("summary")).to_have_text(
        re.compile(r"Thought for .+ · \d+ reasoning tokens")
    )
    assert pane.locator(".reasoning-text").text_content() == final_reasoning
    assert_rendered_answer(reply.locator(".answer.markdown"))
    expect(page.get_by_label("Reasoning effort")).to_have_value("high")
    sidebar = page.get_by_role("navigation", name="Conversations")
    expect(sidebar.get_by_role("link", name=QUESTION)).to_have_attribute("aria-current", "page")

    # A person opens the pane to read what the model thought.
    pane.locator("summary").click()
    expect(pane.locator(".reasoning-text")).to_be_visible()
    expect(pane.locator(".reasoning-text")).to_contain_text("Step 30: weigh another angle")


def test_model_without_effort_disables_the_effort_selector(page, app_server):
    log_in(page, app_server)
    page.get_by_role("button", name="New conversation").click()
    model = page.get_by_label("Model", exact=True)
    effort = page.get_by_label("Reasoning effort")
    expect(model).to_have_value("o4-mini")
    expect(effort).to_be_enabled()
    expect(page.get_by_text("does not take a reasoning effort")).to_be_hidden()

    model.select_option(label="o1-mini")
    expect(effort).to_be_disabled()
    reason = page.get_by_text("o1-mini does not take a reasoning effort.")
    expect(reason).to_be_visible()
    expect(effort).to_have_accessible_description("o1-mini does not take a reasoning effort.")

    model.select_option(label="o3-mini")
    expect(effort).to_be_enabled()
    expect(reason).to_be_hidden()
