"""The finished answer's code block, as the browser builds it from the server's HTML."""

from playwright.sync_api import expect

from .conftest import log_in


def test_code_block_is_one_highlighted_pre(page, app_server):
    log_in(page, app_server)
    page.get_by_role("button", name="New conversation").click()
    page.get_by_label("Reasoning effort").select_option(label="Low")
    page.get_by_label("Message", exact=True).fill("Show me some code")
    page.get_by_role("button", name="Send", exact=True).click()
    reply = page.get_by_role("article", name="Assistant")
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)

    # markdown-it wraps a highlighter's output in <pre><code> unless it starts
    # with <pre>: a block must not end up nested inside another <pre><code>.
    # The DOM is final once complete, hence the short timeouts.
    answer = reply.locator(".answer")
    expect(answer.locator("pre"), "one <pre> per code block").to_have_count(1, timeout=2_000)
    expect(answer.locator("pre pre, code pre, code div"), "nothing nested").to_have_count(
        0, timeout=2_000
    )
    code = answer.locator("pre > code")
    expect(code).to_contain_text("def answer(question: str) -> str:")
    # Highlighted: Pygments marks the keyword; the streamed text had no markup.
    expect(code.locator("span", has_text="def").first).to_be_visible()
    expect(answer.locator("pre")).to_be_visible()
