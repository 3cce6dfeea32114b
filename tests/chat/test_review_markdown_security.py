"""Review fixtures: hostile markdown a model (or a page it quotes) can write.

Each case is input -> what must and must not appear in the HTML, as Zulip's
markdown fixtures do; the CPU cases also bound the render's thread time, since
rendering holds up every other answer streaming in the process.
"""

import time

import pytest

from chatapp.chat.markdown import render_markdown

from .dom import inert_problems, parse

# input, substrings the HTML must hold, substrings it must not.
FIXTURES = {
    "protocol-relative link keeps rel": (
        "[x](//evil.example/a)",
        ['href="//evil.example/a"', 'rel="noopener noreferrer nofollow"'],
        [],
    ),
    "tel: link loses its href": ("[x](tel:123)", ["<a rel="], ["tel:"]),
    "control character before javascript:": ("[x](\x01javascript:alert(1))", [], ["<a"]),
    "entity colon in javascript:": ("[x](javascript&colon;alert(1))", [], ["href"]),
    "NUL inside javascript:": ("[x](java\x00script:alert(1))", [], ["javascript:"]),
    "fence info cannot set a class": (
        '```py class="evil" style="x"\ncode\n```',
        ['<pre class="highlight" data-language="py">'],
        ["evil", "style"],
    ),
    "table alignment only as align-* classes": (
        "| a | b |\n|:-:|--:|\n| c | d |",
        ['class="align-center"', 'class="align-right"'],
        ["style"],
    ),
    "raw details and summary stay text": (
        "<details open><summary>Admin</summary>x</details>",
        ["&lt;details open&gt;"],
        ["<details", "<summary"],
    ),
    "data: image is not a loaded image": (
        "![x](data:image/gif;base64,R0lGOD)",
        [],
        ["<img", "data:"],
    ),
}


@pytest.mark.parametrize(("markdown", "present", "absent"), FIXTURES.values(), ids=FIXTURES.keys())
def test_fixture(markdown, present, absent):
    html = render_markdown(markdown)
    assert inert_problems(html) == [], html
    for text in present:
        assert text in html, html
    for text in absent:
        assert text not in html, html


def _timed(markdown: str) -> tuple[str, float]:
    started = time.thread_time()
    html = render_markdown(markdown)
    return html, time.thread_time() - started


def _table(columns: int, rows: int) -> str:
    """A header this wide, and one-word rows markdown-it pads out to it."""
    return "|" + "a|" * columns + "\n|" + "-|" * columns + "\n" + "x\n" * rows + "\n"


# Each took seconds of CPU before (as measured, on a quiet machine).
SLOW = {
    # 12 s and 6.6 MB of HTML: each row padded to 256 empty cells.
    "ten padded tables": _table(256, 256) * 10,
    # 12 s, 9.6 s, 3.6 s: each blockquote scanned to the end of the text for lazy lines.
    "blockquoted headings each followed by a line": "> # a\nb\n" * 2000,
    "nested blockquotes each followed by a line": ("> " * 20 + "# a\nb\n") * 400,
    "blockquotes nested to the limit, then a line": ("> " * 98 + "a\nb\n") * 100,
}


@pytest.mark.parametrize("markdown", SLOW.values(), ids=SLOW.keys())
def test_hostile_structure_renders_quickly_and_small(markdown):
    html, elapsed = _timed(markdown)
    assert elapsed < 1.0, f"took {elapsed:.2f} s of CPU"
    assert len(html) < 40 * len(markdown), f"{len(html)} bytes of HTML"


def test_blockquotes_followed_by_lines_still_render_as_written():
    root = parse(render_markdown("> # a\nb\n" * 50))
    assert [h.text for h in root.find_all("h1")] == ["a"] * 50
    assert [p.text for p in root.find_all("p")] == ["b"] * 50
    assert all(h.parent.tag == "blockquote" for h in root.find_all("h1"))


def test_a_long_quote_is_one_blockquote_with_its_lazy_lines():
    quote = "".join(f"> line {n}\n" if n % 3 else f"lazy {n}\n" for n in range(1, 300))
    root = parse(render_markdown(quote + "\nafter\n"))
    assert len(root.find_all("blockquote")) == 1
    inner = root.find("blockquote").find("p").text
    assert inner.startswith("line 1\nline 2\nlazy 3") and inner.endswith("line 299")
    assert root.find_all("p")[-1].text == "after"


def test_an_ordinary_long_table_keeps_every_row():
    table = "| n | square |\n|--:|--:|\n" + "".join(f"| {n} | {n * n} |\n" for n in range(1000))
    root = parse(render_markdown(table))
    assert len(root.find("tbody").find_all("tr")) == 1000


def test_padding_past_the_budget_is_text_not_cells():
    root = parse(render_markdown(_table(256, 256) * 10))
    cells = len(root.find_all("td"))
    assert 0 < cells <= 10_000
    assert "x" in root.find_all("p")[-1].text
