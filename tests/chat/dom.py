"""A small DOM for tests: parse HTML, find elements by role and label, check nothing runs.

The standard library's parser is enough here: the app sends escaped text and
a few known tags, and these helpers look at the page the way a user (or a
screen reader) would — a button by its text, a field by its label.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list["Node | str"] = field(default_factory=list)
    parent: "Node | None" = None

    def __repr__(self) -> str:
        shown = " ".join(f'{k}="{v}"' for k, v in self.attrs.items())
        return f"<{self.tag} {shown}>".replace(" >", ">")

    def get(self, name: str, default=None):
        return self.attrs.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.attrs

    @property
    def text(self) -> str:
        """All the text inside, entities decoded, exactly as written."""
        if self.tag == "br":
            return "\n"
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def visible_text(self) -> str:
        return " ".join(self.text.split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list["Node"]:
        """Descendants by tag and attribute values (``class_`` for class, ``_`` for ``-``)."""
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag)
            and all(
                (value is True and name in node.attrs) or node.attrs.get(name) == value
                for name, value in wanted.items()
            )
        ]

    def find(self, tag: str | None = None, **attrs) -> "Node":
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'}> with {attrs} in the page"
        return found[0]

    def by_id(self, element_id: str) -> "Node":
        return self.find(id=element_id)

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    # The accessibility view: roles and names.

    @property
    def role(self) -> str | None:
        if self.get("role"):
            return self.get("role")
        tag = self.tag
        if tag == "button" or (tag == "input" and self.get("type") in {"submit", "button"}):
            return "button"
        if tag == "a" and self.has("href"):
            return "link"
        if re.fullmatch(r"h[1-6]", tag):
            return "heading"
        if tag == "select":
            return "listbox" if self.has("multiple") else "combobox"
        if tag == "textarea" or (tag == "input" and self.get("type", "text") in TEXT_INPUTS):
            return "textbox"
        if tag == "form" and self.get("aria-label"):
            return "form"
        if tag == "section" and (self.get("aria-label") or self.get("aria-labelledby")):
            return "region"
        return IMPLICIT_ROLES.get(tag)

    def accessible_name(self, root: "Node") -> str:
        if self.get("aria-labelledby"):
            ids = self.get("aria-labelledby").split()
            return " ".join(root.by_id(i).visible_text for i in ids)
        if self.get("aria-label"):
            return self.get("aria-label").strip()
        if self.get("id"):
            labels = root.find_all("label", for_=self.get("id"))
            if labels:
                return labels[0].visible_text
        for ancestor in self.ancestors():
            if ancestor.tag == "label":
                return ancestor.visible_text
        if self.tag == "input":
            return (self.get("value") or "").strip()
        return self.visible_text


TEXT_INPUTS = {"text", "email", "password", "search", "url", "tel"}
IMPLICIT_ROLES = {
    "article": "article",
    "nav": "navigation",
    "main": "main",
    "ul": "list",
    "ol": "list",
    "li": "listitem",
    "table": "table",
    "details": "group",
    "option": "option",
}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), parent=self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), parent=self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def by_role(root: Node, role: str, name: str | None = None) -> Node:
    """The one element with ``role`` (and accessible ``name``), as a screen reader finds it."""
    found = all_by_role(root, role, name)
    assert len(found) == 1, f"expected one {role} named {name!r}, found {found}"
    return found[0]


def all_by_role(root: Node, role: str, name: str | None = None) -> list[Node]:
    return [
        node
        for node in root.iter()
        if node.role == role and (name is None or node.accessible_name(root) == name)
    ]


def by_label(root: Node, label: str) -> Node:
    """The form control a visible ``<label>`` names (Django's trailing colon ignored)."""
    labels = [n for n in root.find_all("label") if n.visible_text.removesuffix(":") == label]
    assert len(labels) == 1, f"expected one label {label!r}, found {labels}"
    target = labels[0].get("for")
    if target:
        return root.by_id(target)
    controls = [n for n in labels[0].iter() if n.tag in {"input", "select", "textarea"}]
    assert controls, f"label {label!r} names no control"
    return controls[0]


# What must never reach a browser from model output or user text.

ACTIVE_TAGS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "img",
    "svg",
    "math",
    "style",
    "link",
    "meta",
    "base",
    "form",
    "video",
    "audio",
    "source",
    "template",
    "noscript",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcset", "poster"}
_RAW_ACTIVE_TAG = re.compile(r"<\s*/?\s*(" + "|".join(sorted(ACTIVE_TAGS)) + r")\b", re.I)
_SAFE_STYLE = re.compile(r"\s*text-align\s*:\s*(left|right|center)\s*;?\s*")


def _scheme(url: str) -> str:
    squeezed = re.sub(r"[\x00-\x20]", "", url).lower()
    match = re.match(r"([a-z][a-z0-9+.\-]*):", squeezed)
    return match.group(1) if match else ""


def inert_problems(html: "str | Node", allow: frozenset[str] = frozenset()) -> list[str]:
    """Everything in ``html`` a browser could run or load; empty when the HTML is inert.

    ``allow`` lists tags that are legitimate in that fragment (the app's own forms).
    """
    problems = []
    if isinstance(html, str):
        problems += [
            f"raw tag {m.group(0)!r}"
            for m in _RAW_ACTIVE_TAG.finditer(html)
            if m.group(1).lower() not in allow
        ]
        html = parse(html)
    for node in html.iter():
        if node.tag in ACTIVE_TAGS and node.tag not in allow:
            problems.append(f"element {node!r}")
        for name, value in node.attrs.items():
            if name.startswith("on"):
                problems.append(f"event handler {name} on {node!r}")
            if name in URL_ATTRIBUTES and _scheme(value or "") in {
                "javascript",
                "vbscript",
                "data",
            }:
                problems.append(f"script URL in {name} on {node!r}")
            if name == "style" and not _SAFE_STYLE.fullmatch(value or ""):
                problems.append(f"style {value!r} on {node!r}")
            if name == "srcdoc":
                problems.append(f"srcdoc on {node!r}")
    return problems
