"""Markdown to safe HTML, once per finished answer.

markdown-it renders with raw HTML off; nh3 then removes whatever is left
that a browser could run, so a model (or a prompt-injected page it quotes)
can never put script into a teammate's browser.
"""

from functools import lru_cache
from html import escape

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True)

ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "s",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "div",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "div": {"class"},
    "span": {"class"},
    "pre": {"class", "data-language"},
    "ol": {"start"},
    "td": {"class"},
    "th": {"class"},
}


@lru_cache(maxsize=128)
def _lexer(language: str) -> Lexer | None:
    """A language's lexer, found once: the lookup scans every lexer pygments knows
    (and its plugins, for a name it does not know), slower than highlighting a block."""
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


# Languages models write most; their lexers are built when the server starts.
COMMON_LANGUAGES = (
    "python", "javascript", "typescript", "bash", "json", "sql", "html", "css",
    "java", "c", "cpp", "go", "rust", "yaml", "diff",
)  # fmt: skip


def prepare_common_lexers() -> None:
    """Build the common languages' lexers now, before any answer streams.

    Pygments compiles a lexer's regular expressions the first time it is
    used: 35 ms for Python, 47 for CSS, holding the GIL while every answer
    streaming in the process waits. The server pays it once on start.
    """
    for language in COMMON_LANGUAGES:
        _lexer(language)


def _highlight(code: str, language: str, _attrs) -> str:
    lexer = _lexer(language) if language else None
    label = escape(language or "text")
    body = highlight(code, lexer, _FORMATTER) if lexer else escape(code)
    # Starting with <pre tells markdown-it to use this as the whole block.
    return f'<pre class="highlight" data-language="{label}"><code>{body}</code></pre>\n'


def _alignment_as_classes(state) -> None:
    """Table alignment as classes: the CSP allows no inline style attributes."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs.get("style"):
            side = token.attrs.pop("style").removeprefix("text-align:")
            token.attrs["class"] = f"align-{side}"


_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "highlight": _highlight})
    .enable("table")
    .enable("strikethrough")
)
_MARKDOWN.core.ruler.push("alignment_classes", _alignment_as_classes)


def render_markdown(text: str) -> str:
    html = _MARKDOWN.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
