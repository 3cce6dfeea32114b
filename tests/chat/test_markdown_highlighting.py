"""Code blocks are highlighted only where that cannot freeze the server.

A lexer's regular expression holds the GIL while it runs, so one that
backtracks on a model's code block stops every answer streaming in the
process. Such blocks are still shown, as plain code.
"""

import time

import pytest

from chatapp.chat.markdown import (
    HIGHLIGHTED_LANGUAGES,
    MAX_HIGHLIGHTED_CHARS,
    MAX_HIGHLIGHTED_LINE,
    render_markdown,
)

from .dom import parse

# Each ran for seconds (or, a little longer, hours) in pygments' own lexer.
PATHOLOGICAL = {
    "Scala string of backslashes": ("scala", '"' + "\\" * 36),
    "Java line of words": ("java", "a " * 6000),
    "Python lines of spaces": ("python", "   \n" * 3000),
    "Java column of names": ("java", "_\n" * 4000),
    "C run of blank lines": ("c", "int x" + " \n" * 1500 + "("),
    "fish string of backslashes": ("fish", '"' + "\\" * 3000),
    "systemd line of spaces": ("systemd", " " * 3000 + "x"),
    "zeek run of digits": ("zeek", "1" * 3000 + "e"),
}


def rendered_code(language: str, code: str):
    """The one code block an answer with this fence shows, and how long rendering took."""
    started = time.perf_counter()
    html = render_markdown(f"Here you go:\n\n```{language}\n{code}\n```\n\nDone.")
    elapsed = time.perf_counter() - started
    root = parse(html)
    pres = root.find_all("pre")
    assert len(pres) == 1, html[:300]
    assert root.find_all("p")[-1].text == "Done."
    return pres[0], elapsed


@pytest.mark.parametrize(("language", "code"), PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_a_pathological_block_renders_at_once_and_still_as_code(language, code):
    pre, elapsed = rendered_code(language, code)

    assert elapsed < 0.5, f"took {elapsed:.2f} s"
    assert pre.get("data-language") == language
    # Highlighted or not: pygments drops a block's trailing blank lines.
    assert pre.find("code").text.rstrip("\n") == code.rstrip("\n")


# Text that made some lexer backtrack, scaled to a couple of kilobytes: each
# listed lexer is cheap on it (an addition to the list, or a pygments upgrade,
# that backtracks fails here).
ADVERSARIAL = {
    "backslashes in a string": '"' + "\\" * 2000,
    "backslashes in a raw string": 'r"' + "\\" * 2000,
    "a line of words": "a " * 900,
    "lines of spaces": "   \n" * 500,
    "a column of names": "_\n" * 1000,
    "spaces": " " * 900 + "x",
    "digits then a letter": "1" * 900 + "e",
    "unterminated comment": "/*" + " *" * 900,
    "open brackets": "(" * 900 + "\n" + "[{" * 450,
    "dollars and braces": "${" * 900,
    "runs of blank lines": ("int x" + " \n" * 59 + "(\n") * 15,
    "runs of spaces": ("x" + " " * 119 + "\n") * 15,
}


@pytest.mark.parametrize("language", HIGHLIGHTED_LANGUAGES)
def test_every_highlighted_language_is_quick_on_adversarial_text(language):
    rendered_code(language, "x")  # pygments compiles a lexer on first use: not timed here
    slow = {}
    for name, code in ADVERSARIAL.items():
        _, elapsed = rendered_code(language, code)
        if elapsed > 0.25:
            slow[name] = round(elapsed, 2)
    assert not slow, f"{language}: seconds per block {slow}"


def test_common_code_is_still_highlighted():
    pre, _ = rendered_code("js", "const answer = 42;\nconsole.log(answer);")
    assert pre.get("data-language") == "js"
    assert [span.text for span in pre.find_all("span", class_="kd")] == ["const"]


OVER_THE_LIMITS = {
    "too long": "x = 1\n" * (MAX_HIGHLIGHTED_CHARS // 6 + 1),
    "a line too long": "x = " + "1" * MAX_HIGHLIGHTED_LINE,
}


@pytest.mark.parametrize("code", OVER_THE_LIMITS.values(), ids=OVER_THE_LIMITS.keys())
def test_a_block_past_the_limits_is_plain_code_with_its_language(code):
    pre, _ = rendered_code("python", code)
    assert pre.get("data-language") == "python"
    assert pre.find("code").text == code + "\n"
    assert not pre.find_all("span")
