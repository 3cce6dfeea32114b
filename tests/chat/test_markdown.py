"""Answers render as safe markdown: nothing a model or a user writes can run in a browser.

Every payload is checked three ways: the final render (``render_markdown``),
the live stream (each websocket frame, as the simulator echoes the question),
and the stored render a reload shows.
"""

import pytest
from pygments.lexer import RegexLexer

from chatapp.chat.markdown import COMMON_LANGUAGES, _lexer, prepare_common_lexers, render_markdown
from chatapp.chat.models import Message

from .dom import by_role, inert_problems, parse
from .live import message_pk, streamed, turn_articles

XSS_PAYLOADS = {
    "script tag": "<script>alert(1)</script>",
    "img onerror": "<img src=x onerror=alert(1)>",
    "javascript link": "[x](javascript:alert(1))",
    "JAVASCRIPT link": "[x](JAVASCRIPT:alert(1))",
    "entity-encoded javascript link": "[x](&#106;avascript:alert(1))",
    "javascript link with a tab entity": "[x](jav&#x09;ascript:alert(1))",
    "reference javascript link": "[x][1]\n\n[1]: javascript:alert(1)",
    "javascript autolink": "<javascript:alert(1)>",
    "vbscript link": "[x](vbscript:msgbox(1))",
    "data: html link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data: svg image": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "data: png link": "[x](data:image/png;base64,iVBORw0KGgo=)",
    "remote image (tracking pixel)": "![x](https://evil.example/pixel.png?leak=secret)",
    "raw anchor with javascript": '<a href="javascript:alert(1)">x</a>',
    "raw anchor with entity javascript": '<a href="jav&#x61;script:alert(1)">x</a>',
    "iframe": '<iframe src="https://evil.example"></iframe>',
    "svg onload": "<svg onload=alert(1)>",
    "script inside svg": "<svg><script>alert(1)</script></svg>",
    "math xlink": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "raw html block": '<div onclick="alert(1)">\nclick me\n</div>',
    "style block": "<style>body { display: none }</style>",
    "style attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "form": '<form action="javascript:alert(1)"><button>go</button></form>',
    "object": '<object data="javascript:alert(1)"></object>',
    "details ontoggle": "<details open ontoggle=alert(1)>x</details>",
    "comment then script": "<!-- x --><script>alert(1)</script>",
    "nested script tags": "<scr<script>ipt>alert(1)</script>",
    "encoded script entities": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "link title breaking out": '[x](https://example.com "a\\" onmouseover=\\"alert(1)")',
    "script in a table cell": "| a |\n| --- |\n| <script>alert(1)</script> |",
    "code fence closing code": "```\n</code><script>alert(1)</script>\n```",
    "html code fence": "```html\n<script>alert(1)</script>\n```",
    "fence info string breaking out": '```"><script>alert(1)</script>\nx\n```',
    "inline code closing code": "`</code><script>alert(1)</script>`",
    "javascript image": "![x](javascript:alert(1))",
    "javascript image in a link": "[![x](javascript:alert(1))](https://example.com)",
    "image in a javascript link": "[![x](https://example.com/x.png)](javascript:alert(1))",
}


@pytest.mark.parametrize("payload", XSS_PAYLOADS.values(), ids=XSS_PAYLOADS.keys())
def test_no_payload_survives_the_final_render(payload):
    html = render_markdown(payload)
    assert inert_problems(html) == [], html
    # Also when the model wraps it in its own markdown.
    wrapped = render_markdown(f"Here is *{payload}* for you.\n\n> {payload}\n\n- {payload}\n")
    assert inert_problems(wrapped) == [], wrapped


def test_script_text_stays_visible_as_text():
    """Escaped, not dropped: a question about HTML shows the HTML it asked about."""
    root = parse(render_markdown("Why does `<script>alert(1)</script>` not run?"))
    assert root.find("code").text == "<script>alert(1)</script>"


def one_pre_with_highlighting(root):
    pres = root.find_all("pre")
    assert len(pres) == 1, "a code block is one <pre>, not nested blocks"
    code = pres[0].find("code")
    assert not [n for n in code.iter() if n.tag in {"pre", "div"}]
    assert pres[0].get("data-language") == "python"
    assert [s.text for s in code.find_all("span", class_="k")] == ["def", "return"]
    assert code.find("span", class_="nf").text == "area"
    assert code.text == "def area(r):\n    return 3.14 * r * r\n"


def aligned_table(root):
    table = by_role(root, "table")
    assert [th.text for th in table.find_all("th")] == ["Model", "Price"]
    assert [[td.text for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")] == [
        ["o4-mini", "1.10"],
        ["o3-mini", "1.10"],
    ]
    assert table.find("td").get("class") == "align-left"
    assert table.find_all("td")[1].get("class") == "align-right"


def bullet_and_numbered_lists(root):
    lists = root.find_all("ul") + root.find_all("ol")
    assert [[li.text for li in lst.find_all("li")] for lst in lists] == [
        ["one", "two"],
        ["three", "four"],
    ]
    assert root.find("ol").get("start") == "3"


def safe_links(root):
    link = by_role(root, "link", "the docs")
    assert link.get("href") == "https://example.com/docs"
    assert "noopener" in link.get("rel").split()
    assert "noreferrer" in link.get("rel").split()
    mail = by_role(root, "link", "mail us")
    assert mail.get("href") == "mailto:team@example.com"


def inline_formatting(root):
    assert root.find("strong").text == "bold"
    assert root.find("em").text == "italic"
    assert root.find("code").text == "x < y"


def headings_and_quotes(root):
    assert by_role(root, "heading", "Plan").tag == "h2"
    assert root.find("blockquote").visible_text == "quoted"


def plain_code_for_an_unknown_language(root):
    pre = root.find("pre")
    assert pre.get("data-language") == "nosuchlang"
    assert pre.find("code").text == "if a < b && c > d:\n"
    assert not pre.find_all("span")


def image_as_a_link(root):
    """Named by its alt text, never loaded (a remote image tells its server who reads)."""
    assert not root.find_all("img")
    link = by_role(root, "link", "Diagram: browser -> Django -> gateway")
    assert link.get("href") == "https://example.com/d.png"
    assert set(link.get("rel").split()) == {"noopener", "noreferrer", "nofollow"}
    assert root.find_all("p")[-1].text == "Then:"


def linked_badge(root):
    link = by_role(root, "link", "build status")
    assert link.get("href") == "https://ci.example/job"
    assert len(root.find_all("a")) == 1


def untitled_image(root):
    assert by_role(root, "link", "image").get("href") == "https://example.com/x.png"


FILE_TREE = ["project", "src", "main", "java", "com", "example", "shop", "orders", "api", "A.java"]


def deep_file_tree(root):
    """Ten lists deep, each a level below the one before, and the answer goes on after it."""
    deepest = root.find("li")
    for name in FILE_TREE[:-1]:
        assert deepest.children[0].strip() == name
        deepest = deepest.find("ul").find("li")
    assert deepest.text == "A.java"
    assert root.find_all("p")[-1].visible_text == "Now run mvn package."


def past_the_nesting_limit(root):
    """What is nested too deep to parse is shown as written, and the answer goes on."""
    for depth in range(60):
        assert f"folder{depth}" in root.visible_text
    assert root.find_all("p")[-1].visible_text == "Now run mvn package."


GOOD_MARKDOWN = {
    "table": (
        "| Model | Price |\n|:--|--:|\n| o4-mini | 1.10 |\n| o3-mini | 1.10 |\n",
        aligned_table,
    ),
    "lists": ("- one\n- two\n\n3. three\n4. four\n", bullet_and_numbered_lists),
    "code block": (
        "```python\ndef area(r):\n    return 3.14 * r * r\n```\n",
        one_pre_with_highlighting,
    ),
    "links": (
        "See [the docs](https://example.com/docs) or [mail us](mailto:team@example.com).",
        safe_links,
    ),
    "inline": ("**bold**, *italic* and `x < y`", inline_formatting),
    "headings and quotes": ("## Plan\n\n> quoted\n", headings_and_quotes),
    "unknown language": (
        "```nosuchlang\nif a < b && c > d:\n```\n",
        plain_code_for_an_unknown_language,
    ),
    "image": (
        "![Diagram: browser -> Django -> gateway](https://example.com/d.png)\n\nThen:",
        image_as_a_link,
    ),
    "linked badge": (
        "[![build status](https://ci.example/badge.svg)](https://ci.example/job)",
        linked_badge,
    ),
    "image without alt text": ("![](https://example.com/x.png)", untitled_image),
    "deep file tree": (
        "".join("  " * depth + f"- {name}\n" for depth, name in enumerate(FILE_TREE))
        + "\nNow run `mvn package`.\n",
        deep_file_tree,
    ),
    "past the nesting limit": (
        "".join("  " * depth + f"- folder{depth}\n" for depth in range(60))
        + "\nNow run `mvn package`.\n",
        past_the_nesting_limit,
    ),
}


@pytest.mark.parametrize(("markdown", "check"), GOOD_MARKDOWN.values(), ids=GOOD_MARKDOWN.keys())
def test_good_markdown_renders(markdown, check):
    html = render_markdown(markdown)
    check(parse(html))
    assert inert_problems(html) == []


# The streamed path: the simulator's answer and reasoning echo the question.

APP_FORMS = frozenset({"form"})


def topic_of(payload: str) -> str:
    """What the simulator repeats of a question: its first twelve words."""
    return " ".join(payload.split()[:12])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("payload", XSS_PAYLOADS.values(), ids=XSS_PAYLOADS.keys())
async def test_no_payload_survives_the_stream_or_the_stored_render(
    payload, sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message=payload, reasoning_effort="low")
    final = await socket.receive_final("complete")
    reply_id = message_pk(final)

    for frame in socket.frames:
        assert inert_problems(frame, allow=APP_FORMS) == [], frame

    # The payload really went through: shown as the user's text, echoed as streamed text.
    user, _ = turn_articles(next(f for f in socket.frames if turn_articles(f)))
    assert user.find(class_="user-text").visible_text == " ".join(payload.split())
    assert topic_of(payload) in streamed(socket.frames, reply_id, "reasoning")
    assert topic_of(payload) in streamed(socket.frames, reply_id, "answer")

    answer = final.by_id(f"message-{reply_id}-answer")
    assert inert_problems(answer) == []
    stored = await Message.objects.aget(pk=reply_id)
    assert inert_problems(stored.rendered_html) == []


def test_the_common_languages_lexers_are_ready_before_any_answer():
    """Each name the server prepares on start is one pygments knows, kept for every later answer."""
    prepare_common_lexers()
    for language in COMMON_LANGUAGES:
        lexer = _lexer(language)
        assert lexer is not None, language
        if isinstance(lexer, RegexLexer):  # the kind that compiles expressions on first use
            assert "_tokens" in vars(type(lexer)), f"{language}: not compiled yet"
