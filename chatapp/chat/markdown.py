"""Markdown to safe HTML, once per finished answer.

markdown-it renders with raw HTML off; nh3 then removes whatever is left
that a browser could run, so a model (or a prompt-injected page it quotes)
can never put script into a teammate's browser.
"""

import re
import time
from functools import cache
from html import escape
from io import StringIO

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_block import blockquote, table
from markdown_it.token import Token
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import find_lexer_class_by_name

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


# Pygments lexers are regular expressions, and a regular expression holds the
# GIL while it runs: a lexer that backtracks freezes every answer streaming in
# the process. Many do on text a model can be led to write (Scala's strings
# are exponential in backslashes: a 50-character line ran for hours; Java is
# quadratic in a long line of words). So only lexers timed against such text,
# up to the limits below, highlight (/tmp-style fuzzing: repeated backslashes,
# quotes, spaces, words, brackets, unterminated strings and comments); any
# other language, or a longer block, is shown as plain text. Names are
# pygments' own; their aliases (py, js, sh…) count too. Not here: lexers that
# pick another lexer by a name in the text (Markdown's fences, reST, HTTP,
# PostgreSQL's LANGUAGE), which would slip past the list.
HIGHLIGHTED_LANGUAGES = (
    "python", "javascript", "typescript", "jsx", "tsx", "bash", "console", "powershell",
    "json", "json5", "yaml", "toml", "ini", "xml", "html", "css", "scss", "sass", "less",
    "sql", "mysql", "tsql", "java", "kotlin", "c", "cpp", "csharp", "go", "rust", "swift",
    "ruby", "php", "lua", "splus", "perl", "haskell", "dart", "diff", "docker", "make",
    "nginx", "graphql", "protobuf", "groovy", "elixir", "erlang", "julia", "matlab",
    "objective-c", "batch", "cmake", "terraform", "properties", "vim", "tex", "ocaml",
    "fsharp", "clojure", "scheme", "elm", "fortran", "verilog", "vhdl", "awk", "solidity",
    "zig", "nimrod", "coffeescript", "gas", "nasm", "llvm", "glsl", "cuda", "nixos",
    "apacheconf", "prolog", "tcl", "crystal", "d", "delphi", "vb.net",
)  # fmt: skip

# Languages models write most; their lexers are built when the server starts.
COMMON_LANGUAGES = (
    "python", "javascript", "typescript", "bash", "json", "sql", "html", "css",
    "java", "c", "cpp", "go", "rust", "yaml", "diff",
)  # fmt: skip

# Past these, a block is shown unhighlighted: a lexer's time grows with the
# text, for some faster than linearly: in a line's length (Java's line of
# words), or in a run of blanks, across lines too. One match of C's function
# pattern ran for 0.2 s on 1,300 spaces and line breaks, quadratic in them
# and in the * and & of the declarations it looks for, which it takes with them.
MAX_HIGHLIGHTED_CHARS = 12_000
MAX_HIGHLIGHTED_LINE = 500
MAX_HIGHLIGHTED_RUN = 120
_RUN = re.compile(r"[\s*&]+")
# What the limits leave (many matches, each short: Python on lines of spaces,
# each looking to the end of the run): highlighting stops once it has used
# this much of the thread's CPU.
HIGHLIGHT_CPU_SECONDS = 0.02


@cache
def _highlighters() -> dict[str, type[Lexer]]:
    """Every name and alias of the listed lexers, to their lexer class."""
    classes = (find_lexer_class_by_name(name) for name in HIGHLIGHTED_LANGUAGES)
    return {alias: cls for cls in classes for alias in cls.aliases}


@cache
def _lexer_of(cls: type[Lexer]) -> Lexer:
    # Pygments compiles a lexer's expressions when its first instance is made.
    return cls()


def _lexer(language: str) -> Lexer | None:
    """The lexer for a fence's language, if it is one of the listed; a dictionary
    lookup, where pygments' own scans every lexer (and its plugins) for a name it
    does not know."""
    cls = _highlighters().get(language.lower())
    return _lexer_of(cls) if cls else None


def prepare_common_lexers() -> None:
    """Build the common languages' lexers now, before any answer streams.

    Pygments compiles a lexer's regular expressions the first time it is
    used: 35 ms for Python, 47 for CSS, holding the GIL while every answer
    streaming in the process waits. The server pays it once on start.
    """
    for language in COMMON_LANGUAGES:
        _lexer(language)


class _OutOfTime(Exception):
    pass


def _within_budget(tokens):
    """The tokens, until lexing and formatting them has used HIGHLIGHT_CPU_SECONDS.

    Checked at every token: one can take milliseconds (Java's on a column of
    words, each looking ahead to the end of the text). The thread's CPU time,
    not the clock's, so that a busy process does not lose its highlighting;
    but the clock is cheaper to read, and until it has run the budget the
    thread cannot have used it.
    """
    clock, cpu = time.perf_counter(), time.thread_time()
    for token in tokens:
        if (
            time.perf_counter() - clock > HIGHLIGHT_CPU_SECONDS
            and time.thread_time() - cpu > HIGHLIGHT_CPU_SECONDS
        ):
            raise _OutOfTime
        yield token


def within_limits(code: str) -> bool:
    """Whether every listed lexer is quick on ``code``, however written (see above)."""
    return (
        len(code) <= MAX_HIGHLIGHTED_CHARS
        and max(map(len, code.splitlines()), default=0) <= MAX_HIGHLIGHTED_LINE
        and max(map(len, _RUN.findall(code)), default=0) <= MAX_HIGHLIGHTED_RUN
    )


def _highlighted(code: str, lexer: Lexer) -> str | None:
    """``code`` as highlighted HTML, or None when it is too long or takes too long."""
    if not within_limits(code):
        return None
    html = StringIO()
    try:
        _FORMATTER.format(_within_budget(lexer.get_tokens(code)), html)
    except _OutOfTime:
        return None
    return html.getvalue()


def _highlight(code: str, language: str, _attrs) -> str:
    lexer = _lexer(language) if language else None
    label = escape(language or "text")
    body = (_highlighted(code, lexer) if lexer else None) or escape(code)
    # Starting with <pre tells markdown-it to use this as the whole block.
    return f'<pre class="highlight" data-language="{label}"><code>{body}</code></pre>\n'


def _alignment_as_classes(state) -> None:
    """Table alignment as classes: the CSP allows no inline style attributes."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs.get("style"):
            side = token.attrs.pop("style").removeprefix("text-align:")
            token.attrs["class"] = f"align-{side}"


def _images_as_links(state) -> None:
    """Each image as a link to it, named by its alt text; never loaded.

    A remote image would tell its server who reads the answer, and when. As an
    <img>, which nh3 removes, it took its alt text with it, and a linked
    badge became an empty link.
    """
    for token in state.tokens:
        if token.type == "inline" and token.children:
            token.children = _without_images(token.children)


def _without_images(tokens: list[Token]) -> list[Token]:
    kept, in_link = [], False
    for token in tokens:
        if token.type in ("link_open", "link_close"):
            in_link = token.type == "link_open"
        if token.type != "image":
            kept.append(token)
            continue
        alt = Token("text", "", 0, content=_plain_text(token.children or []) or "image")
        # markdown-it left the source empty when it refused it (javascript:, say);
        # inside a link (a badge), the alt text is that link's name.
        if in_link or not token.attrs.get("src"):
            kept.append(alt)
            continue
        attrs = {"href": token.attrs["src"]}
        if token.attrs.get("title"):
            attrs["title"] = token.attrs["title"]
        kept += [Token("link_open", "a", 1, attrs=attrs), alt, Token("link_close", "a", -1)]
    return kept


def _plain_text(tokens: list[Token]) -> str:
    """An image's alt text, as markdown-it writes it: the words, no markup."""
    return "".join(
        _plain_text(token.children or [])
        if token.type == "image"
        else " "
        if token.type in ("softbreak", "hardbreak")
        else token.content
        if token.type in ("text", "code_inline")
        else ""
        for token in tokens
    )


# Blocks nested past this are not parsed (a list in a list is two levels).
# The "commonmark" preset's 20 stopped at a file tree ten folders deep, and
# markdown-it drops what it does not parse: the rest of the answer with it.
MAX_NESTING = 100
# Inline, past the limit is plain text, nothing lost; and each level more
# costs time on every bracket (at 100, "![" 20,000 times took 3.6 s, not 0.9).
MAX_INLINE_NESTING = 20


def _deep_blocks_as_text(state, start_line: int, end_line: int, silent: bool) -> bool:
    """A block nested nearly too deep to parse, shown as written, in a code block.

    Tried before every other block rule, just short of MAX_NESTING, where
    markdown-it would skip to the end of the text: a list item opens two
    levels, so the block inside it is still tokenized.
    """
    if silent or state.level < MAX_NESTING - 2:
        return False
    # The lines this container holds: to its end, or to a line indented less.
    last = start_line
    line = start_line
    while line < end_line and (state.isEmpty(line) or state.sCount[line] >= state.blkIndent):
        if not state.isEmpty(line):
            last = line
        line += 1
    token = state.push("code_block", "code", 0)
    token.content = state.getLines(start_line, last + 1, state.blkIndent, True)
    token.map = [start_line, last + 1]
    state.line = last + 1
    return True


# markdown-it pads each table row to its header's width, up to 65,536 cells
# a table: a 1.5 kB table became 660 kB of HTML and a second of CPU, and an
# answer can hold many. Past this many body cells in an answer, rows are text.
MAX_TABLE_CELLS = 10_000


def _table_within_budget(state, start_line: int, end_line: int, silent: bool) -> bool:
    """markdown-it's table rule, given only as many rows as the answer's cells allow."""
    if silent:
        return table(state, start_line, end_line, silent)
    left = state.env.get("table_cells", MAX_TABLE_CELLS)
    # At most this many columns (a "|" can be escaped), so at least this many cells a row.
    header = state.src[state.bMarks[start_line] : state.eMarks[start_line]]
    rows = left // (header.count("|") + 1)
    before = len(state.tokens)
    if not table(state, start_line, min(end_line, start_line + 2 + rows), silent):
        return False
    state.env["table_cells"] = left - sum(t.type == "td_open" for t in state.tokens[before:])
    return True


def _blockquote_in_steps(state, start_line: int, end_line: int, silent: bool) -> bool:
    """markdown-it's blockquote rule, shown a few lines first, then twice as many.

    It scans for lazy lines to the next blank line, however short the quote:
    "> # a\\nb\\n" 2,000 times took 12 s. A quote that ends before the last
    line it was shown ends there whatever follows; one that reaches it is
    parsed again with more. The window each quote needed is kept, so that a
    quote in a quote parsed again does not start small again (exponential).
    """
    if silent:
        return blockquote(state, start_line, end_line, silent)
    windows = state.env.setdefault("blockquote_windows", {})
    key = (start_line, state.level, state.bMarks[start_line] + state.tShift[start_line])
    before, cells = len(state.tokens), state.env.get("table_cells")
    end = min(end_line, windows.get(key, start_line + 4))
    while True:
        if not blockquote(state, start_line, end, silent):
            return False
        if end == end_line or state.line < end:
            windows[key] = end if state.line < end else start_line + 2 * (end - start_line)
            return True
        del state.tokens[before:]
        if cells is not None:
            state.env["table_cells"] = cells
        end = min(end_line, start_line + 2 * (end - start_line))


def _parser(max_nesting: int) -> MarkdownIt:
    return (
        MarkdownIt(
            "commonmark",
            {"html": False, "linkify": False, "highlight": _highlight, "maxNesting": max_nesting},
        )
        .enable("table")
        .enable("strikethrough")
    )


_MARKDOWN = _parser(MAX_NESTING)
_INLINE = _parser(MAX_INLINE_NESTING)


def _parse_inline(state) -> None:
    """markdown-it's own inline step, with the inline parser's smaller nesting limit."""
    for token in state.tokens:
        if token.type == "inline":
            token.children = token.children or []
            _INLINE.inline.parse(token.content, _INLINE, state.env, token.children)


_MARKDOWN.core.ruler.at("inline", _parse_inline)
_MARKDOWN.block.ruler.before("table", "deep_blocks_as_text", _deep_blocks_as_text)
_MARKDOWN.block.ruler.at("table", _table_within_budget, {"alt": ["paragraph", "reference"]})
_MARKDOWN.block.ruler.at(
    "blockquote", _blockquote_in_steps, {"alt": ["paragraph", "reference", "blockquote", "list"]}
)
_MARKDOWN.core.ruler.push("alignment_classes", _alignment_as_classes)
_MARKDOWN.core.ruler.push("images_as_links", _images_as_links)


def render_markdown(text: str) -> str:
    html = _MARKDOWN.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
