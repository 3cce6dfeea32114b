"""On a phone-width screen: conversations stay reachable and nothing overflows sideways."""

from playwright.sync_api import Page, expect

from .conftest import log_in
from .journeys import answers, new_conversation, questions, send

PHONE = {"width": 375, "height": 740}
LONG_WORD = "https://example.com/" + "a" * 300


def overflows_sideways(page: Page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def test_conversations_are_reachable_on_a_phone(page, app_server):
    log_in(page, app_server)
    new_conversation(page)
    page.set_viewport_size(PHONE)
    expect(page.get_by_role("button", name="New conversation")).to_be_visible()
    sidebar = page.get_by_role("navigation", name="Conversations")
    expect(sidebar.get_by_role("link").first).to_be_visible()


def test_a_long_unbroken_word_does_not_widen_the_page_on_a_phone(page, app_server):
    log_in(page, app_server)
    new_conversation(page)
    page.set_viewport_size(PHONE)
    send(page, LONG_WORD, effort="Low")
    expect(questions(page).last).to_contain_text("aaaa")
    expect(answers(page).last).to_have_attribute("data-status", "complete", timeout=30_000)
    assert not overflows_sideways(page), "the page scrolls sideways on a phone"
