"""Issue 5 in Chromium: attach images, see them, send them to a vision model, and read
what the (simulated) model saw: each image's exact size and average colour.
"""

import base64
import io

from PIL import Image
from playwright.sync_api import Page, expect

from .conftest import log_in
from .journeys import answers, new_conversation, questions, send

NOT_AN_IMAGE = "“notes.png” is not a PNG, JPEG, WebP or GIF image."


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def hex_colour(colour: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in colour)


def attach(page: Page, name: str, data: bytes, mime_type: str = "image/png") -> None:
    """Click "Attach image" and pick a file in the chooser, like a person."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach image").click()
    chooser.value.set_files({"name": name, "mimeType": mime_type, "buffer": data})


def tray(page: Page):
    return page.get_by_role("list", name="Images to send")


def test_an_attached_image_reaches_the_model_and_stays_in_the_conversation(page, app_server):
    colour = (200, 30, 90)
    log_in(page, app_server)
    new_conversation(page)
    expect(page.get_by_label("Model", exact=True)).to_have_value("o4-mini")

    # The wrong picture first: its thumbnail shows, and "Remove" takes it back.
    attach(page, "mistake.png", png(40, 40, (0, 128, 0)))
    expect(tray(page).get_by_role("img", name="Image to send: mistake.png (40×40)")).to_be_visible()
    tray(page).get_by_role("button", name="Remove mistake.png").click()
    expect(tray(page).get_by_role("listitem")).to_have_count(0)

    attach(page, "swatch.png", png(64, 48, colour))
    pending = tray(page).get_by_role("img", name="Image to send: swatch.png (64×48)")
    expect(pending).to_be_visible()
    expect(tray(page).get_by_role("button", name="Remove swatch.png")).to_be_visible()
    expect(tray(page).get_by_role("listitem")).to_have_count(1)

    send(page, "What size and colour is this image?", effort="Low")
    mine = questions(page).last
    expect(mine.get_by_role("img")).to_have_count(1)
    thumbnail = mine.get_by_role("img", name="Attached image 1 (64×48)")
    expect(thumbnail).to_be_visible()
    expect(tray(page).get_by_role("listitem")).to_have_count(0)
    reply = answers(page).last
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    # The model saw exactly the image that was sent, and not the removed one.
    answer = reply.locator(".answer")
    expect(answer).to_contain_text(f"Image 1: 64×48 pixels, average colour {hex_colour(colour)}.")
    expect(answer).not_to_contain_text("Image 2:")
    expect(answer).not_to_contain_text("40×40")
    expect(reply.locator(".reasoning-text")).to_contain_text("I have 1 image to look at.")

    # After a reload the thumbnail is still there, loaded from the server.
    page.reload()
    mine = questions(page).last
    thumbnail = mine.get_by_role("img", name="Attached image 1 (64×48)")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 64
    expect(mine.get_by_role("img")).to_have_count(1)

    # The thumbnail is a link to the full-size image, which opens in a new tab.
    link = mine.get_by_role("link", name="Attached image 1 (64×48)")
    href = link.get_attribute("href")
    with page.context.expect_page() as opened:
        link.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.url == app_server.url + href
    response = page.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.body())) as image:
        assert image.size == (64, 48)
        assert image.convert("RGB").getpixel((10, 10)) == colour
    full.close()


def test_attaching_is_only_for_vision_models_and_only_for_images(page, app_server):
    log_in(page, app_server)
    new_conversation(page)
    attach_button = page.get_by_role("button", name="Attach image")
    expect(attach_button).to_be_enabled()
    reason = page.get_by_text("o3-mini cannot look at images.")
    expect(reason).to_be_hidden()

    page.get_by_label("Model", exact=True).select_option(label="o3-mini")
    expect(attach_button).to_be_disabled()
    expect(reason).to_be_visible()
    expect(attach_button).to_have_accessible_description("o3-mini cannot look at images.")

    page.get_by_label("Model", exact=True).select_option(label="o4-mini")
    expect(attach_button).to_be_enabled()
    expect(page.get_by_text("cannot look at images")).to_be_hidden()

    # A text file dressed up as a PNG: the server looks at the bytes and says no.
    attach(page, "notes.png", b"Remember to buy milk.\n", "image/png")
    expect(page.get_by_role("status")).to_have_text(NOT_AN_IMAGE)
    expect(tray(page).get_by_role("listitem")).to_have_count(0)

    # A real image afterwards is fine, and clears the message.
    attach(page, "real.png", png(20, 10, (255, 255, 255)))
    expect(tray(page).get_by_role("img", name="Image to send: real.png (20×10)")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("")


# What a drop from the file manager or a paste from the clipboard hands the page.
HAND_OVER = """
async ({kind, name, data}) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/png" }));
  const init = { bubbles: true, cancelable: true };
  if (kind === "drop") {
    const composer = document.getElementById("composer");
    composer.dispatchEvent(new DragEvent("dragover", { ...init, dataTransfer: transfer }));
    composer.dispatchEvent(new DragEvent("drop", { ...init, dataTransfer: transfer }));
  } else {
    const box = document.getElementById("message-input");
    box.focus();
    box.dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: transfer }));
  }
}
"""


def hand_over(page: Page, kind: str, name: str, data: bytes) -> None:
    """Drop (``kind="drop"``) or paste (``"paste"``) a PNG file onto the composer."""
    page.evaluate(HAND_OVER, {"kind": kind, "name": name, "data": base64.b64encode(data).decode()})


def test_images_can_be_dropped_and_pasted(page, app_server):
    dropped, pasted = (10, 20, 250), (240, 200, 0)
    log_in(page, app_server)
    new_conversation(page)
    hand_over(page, "drop", "dropped.png", png(32, 32, dropped))
    expect(tray(page).get_by_role("img", name="Image to send: dropped.png (32×32)")).to_be_visible()
    hand_over(page, "paste", "pasted.png", png(50, 30, pasted))
    expect(tray(page).get_by_role("img", name="Image to send: pasted.png (50×30)")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_have_value("")

    send(page, "Describe both pictures.", effort="Low")
    mine = questions(page).last
    expect(mine.get_by_role("img")).to_have_count(2)
    reply = answers(page).last
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    answer = reply.locator(".answer")
    expect(answer).to_contain_text(f"Image 1: 32×32 pixels, average colour {hex_colour(dropped)}.")
    expect(answer).to_contain_text(f"Image 2: 50×30 pixels, average colour {hex_colour(pasted)}.")
