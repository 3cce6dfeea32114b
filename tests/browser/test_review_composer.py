"""The composer while an answer is asked for, streams and ends."""

import re

from playwright.sync_api import expect

from .conftest import log_in
from .journeys import answers, new_conversation, questions, wait_until


def new_low_effort_conversation(page, app_server):
    log_in(page, app_server)
    new_conversation(page)
    page.get_by_label("Reasoning effort").select_option(label="Low")


def composer_status(page):
    return page.get_by_role("form", name="Send a message").get_by_role("status")


def test_a_double_click_on_send_sends_once_and_shows_no_error(page, app_server):
    new_low_effort_conversation(page, app_server)
    page.get_by_label("Message", exact=True).fill("Only once, please.")
    page.get_by_role("button", name="Send", exact=True).dblclick()
    expect(answers(page).last).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(questions(page)).to_have_count(1)
    expect(answers(page)).to_have_count(1)
    expect(composer_status(page)).to_have_text("")


def test_enter_pressed_twice_sends_once(page, app_server):
    new_low_effort_conversation(page, app_server)
    box = page.get_by_label("Message", exact=True)
    box.fill("Only once, please.")
    box.press("Enter")
    box.press("Enter")
    expect(answers(page).last).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(questions(page)).to_have_count(1)
    expect(composer_status(page)).to_have_text("")


def test_the_streaming_answer_does_not_flood_a_screen_reader(page, app_server):
    """A live region around text that grows per delta announces every delta."""
    new_low_effort_conversation(page, app_server)
    page.get_by_label("Message", exact=True).fill("Tell me something.")
    page.get_by_role("button", name="Send", exact=True).click()
    reply = answers(page).last
    expect(reply).to_have_attribute("data-status", "streaming")
    loud = reply.evaluate(
        """article => {
          const found = [];
          for (let node = article; node; node = node.parentElement) {
            const live = node.getAttribute("aria-live");
            const role = node.getAttribute("role");
            const isLive = (live && live !== "off") || ["status", "log", "alert"].includes(role);
            const busy = node.getAttribute("aria-busy") === "true";
            if (isLive && !busy) found.push(node.id || node.tagName);
          }
          return found;
        }"""
    )
    assert loud == [], f"the growing answer is inside live regions that are not busy: {loud}"
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    messages = page.get_by_role("region", name="Messages")
    expect(messages).not_to_have_attribute("aria-busy", "true")


def test_a_refused_send_is_said_in_the_status_region_already_on_the_page(page, app_server):
    """Screen readers announce changes inside a live region they know, not a new one."""
    new_low_effort_conversation(page, app_server)
    box = page.get_by_label("Message", exact=True)
    box.fill("First question.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(answers(page).last).to_have_attribute("data-status", "streaming")
    expect(box).to_have_value("")

    region = composer_status(page).element_handle()
    box.fill("Second question, too early.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(composer_status(page)).to_contain_text("still being written")
    assert region.evaluate("element => element.isConnected"), (
        "the refusal replaced the status region instead of changing its text"
    )
    expect(box).to_have_value("Second question, too early.")


def test_enter_that_ends_an_ime_composition_does_not_send(page, app_server):
    """Safari sends the Enter that commits Japanese or Chinese input after compositionend,
    with isComposing false but keyCode 229: that Enter picks the characters, it must not send.
    """
    log_in(page, app_server)
    new_conversation(page)
    box = page.get_by_label("Message", exact=True)
    box.fill("日本語")
    box.dispatch_event("compositionstart", {"data": ""})
    box.dispatch_event("compositionend", {"data": "日本語"})
    box.dispatch_event("keydown", {"key": "Enter", "keyCode": 229, "bubbles": True})
    page.wait_for_timeout(500)
    expect(questions(page)).to_have_count(0)
    expect(box).to_have_value("日本語")
    # A real Enter afterwards sends.
    box.press("Enter")
    expect(questions(page)).to_have_count(1)


def test_words_typed_while_a_send_is_on_its_way_are_kept(page, app_server):
    """On a slow connection a person sends and goes on typing; the reset must not eat that."""
    held: list[str] = []
    to_page = {}

    def relay(socket):
        to_page["socket"] = socket
        server = socket.connect_to_server()

        def from_server(message):
            # The server's answer to the send (the composer's reset) takes its time.
            if 'id="composer-status"' in str(message):
                held.append(message)
            else:
                socket.send(message)

        server.on_message(from_server)

    log_in(page, app_server)
    new_conversation(page)
    page.route_web_socket(re.compile(r"/ws/"), relay)
    page.reload()
    box = page.get_by_label("Message", exact=True)
    expect(box).to_be_editable()
    page.get_by_label("Reasoning effort").select_option(label="Low")
    box.fill("First question.")
    box.press("Enter")
    expect(questions(page)).to_have_count(1)
    box.press("End")
    box.press_sequentially(" And a follow-up")
    wait_until(page, lambda: held, "the server's answer to the send")
    for message in held:
        to_page["socket"].send(message)
    expect(box).not_to_have_value(re.compile("First question"))
    expect(box).to_have_value("And a follow-up")
