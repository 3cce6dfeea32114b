"""Conversation settings in Chromium: a mistake is shown beside its field, a fix is saved."""

from playwright.sync_api import expect

from .conftest import log_in
from .journeys import new_conversation


def test_a_settings_mistake_is_shown_and_its_fix_saved(page, app_server):
    log_in(page, app_server)
    new_conversation(page)
    page.get_by_text("Conversation settings").click()
    settings = page.get_by_role("form", name="Conversation settings")

    settings.get_by_label("Maximum output tokens").fill("5")
    settings.get_by_role("button", name="Save settings").click()

    expect(
        settings.get_by_text("Give a number of tokens between 16 and 1,000,000.")
    ).to_be_visible()
    expect(settings.get_by_label("Maximum output tokens")).to_have_value("5")
    expect(settings.get_by_role("status")).to_have_count(0)

    settings.get_by_label("Maximum output tokens").fill("2048")
    settings.get_by_role("button", name="Save settings").click()

    expect(settings.get_by_role("status")).to_have_text(
        "Saved. The next answer uses these settings."
    )
    page.reload()
    page.get_by_text("Conversation settings").click()
    expect(settings.get_by_label("Maximum output tokens")).to_have_value("2048")
