"""Steps shared by the browser journeys: what a person does, and what a test records.

``record_streams`` is the one thing a person cannot do: it keeps every state of
each streaming answer the page showed, so a test can prove the text only ever
grew (no gap, no duplicate) and compare it with what another page showed.
"""

import itertools
import re
import time
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Locator, Page, expect

# Runs in every document of a context, before the page's own scripts. For each
# assistant article while it streams: every distinct reasoning and answer text.
_STREAM_RECORDER = """
(() => {
  const streams = (window.__streams = {});
  const record = () => {
    const articles = document.querySelectorAll(
      'article[data-role="assistant"][data-status="streaming"]'
    );
    articles.forEach((article) => {
      const entry = (streams[article.id] ||= { reasoning: [], answer: [] });
      for (const [key, selector] of [["reasoning", ".reasoning-text"], ["answer", ".answer"]]) {
        const element = article.querySelector(selector);
        if (!element) continue;
        const seen = entry[key];
        if (seen[seen.length - 1] !== element.textContent) seen.push(element.textContent);
      }
    });
  };
  new MutationObserver(record).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ["data-status"],
  });
})();
"""


def wait_until(page: Page, condition: Callable[[], object], what: str, timeout: float = 15.0):
    """Poll ``condition`` (reading the page) until it is truthy; fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        page.wait_for_timeout(20)


def record_streams(context: BrowserContext) -> None:
    """From now on, every page of ``context`` records the states of streaming answers."""
    context.add_init_script(_STREAM_RECORDER)


def streamed(page: Page, article: Locator) -> dict[str, list[str]]:
    """The recorded states of ``article`` while it streamed: ``reasoning`` and ``answer``."""
    article_id = article.get_attribute("id")
    return page.evaluate("id => window.__streams[id] || {reasoning: [], answer: []}", article_id)


def assert_only_grew(states: list[str], what: str) -> None:
    """Each state extends the one before: text was only ever appended, never rewritten."""
    for before, after in itertools.pairwise(states):
        assert after.startswith(before), (
            f"{what} changed instead of growing:\n  before: {before[-80:]!r}\n"
            f"  after:  {after[-80:]!r}"
        )


def new_conversation(page: Page) -> None:
    # "New" may lead back to the URL already shown (the member's empty chat):
    # wait for the new page itself, not for a URL the old one already has.
    page.evaluate("window.replacedSoon = true")
    page.get_by_role("button", name="New conversation").click()
    page.wait_for_function("() => !window.replacedSoon")
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f-]{36}/$"))
    # (A send made before the page's socket is open waits for it in htmx's queue.)
    expect(page.get_by_label("Message", exact=True)).to_be_editable()


def send(page: Page, text: str, effort: str | None = None, model: str | None = None) -> None:
    if model:
        page.get_by_label("Model", exact=True).select_option(label=model)
    if effort:
        page.get_by_label("Reasoning effort").select_option(label=effort)
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def answers(page: Page) -> Locator:
    return page.get_by_role("article", name="Assistant")


def questions(page: Page) -> Locator:
    return page.get_by_role("article", name="You")
