"""A lost websocket says so, and says when it is back."""

from playwright.sync_api import expect

from .conftest import log_in
from .journeys import answers, new_conversation, send


def test_a_lost_connection_is_shown_until_it_is_back(start_server, new_page):
    server = start_server("reconnect")
    page = new_page(server)
    log_in(page, server)
    new_conversation(page)
    chat = page.get_by_role("main")
    expect(chat.get_by_text("Connection lost")).to_have_count(0)

    server.stop()
    notice = chat.get_by_role("alert").filter(has_text="Connection lost")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Reconnecting")

    server.start()
    expect(chat.get_by_text("Connection lost")).to_have_count(0, timeout=30_000)
    send(page, "Are you back?", effort="Low")
    expect(answers(page).last).to_have_attribute("data-status", "complete", timeout=30_000)
