"""Attachments by keyboard: removing one keeps the keyboard's place."""

from playwright.sync_api import expect

from .conftest import log_in
from .journeys import new_conversation
from .test_images import attach, png, tray


def test_removing_an_attachment_by_keyboard_keeps_focus_in_the_composer(page, app_server):
    log_in(page, app_server)
    new_conversation(page)
    attach(page, "first.png", png(20, 20, (10, 20, 30)))
    attach(page, "second.png", png(20, 20, (30, 20, 10)))
    expect(tray(page).get_by_role("listitem")).to_have_count(2)

    remove = tray(page).get_by_role("button", name="Remove first.png")
    remove.focus()
    page.keyboard.press("Enter")
    expect(tray(page).get_by_role("listitem")).to_have_count(1)
    # The next image's button takes the keyboard's place, not the page's start.
    expect(tray(page).get_by_role("button", name="Remove second.png")).to_be_focused()

    page.keyboard.press("Enter")
    expect(tray(page).get_by_role("listitem")).to_have_count(0)
    expect(page.get_by_role("button", name="Attach image")).to_be_focused()
