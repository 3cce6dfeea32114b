"""Struck-through text stays struck through: "~~use X~~ use Y" must not read "use X use Y"."""

from chatapp.chat.markdown import render_markdown

from .dom import parse


def test_strikethrough_survives_sanitizing():
    root = parse(render_markdown("Run ~~`rm -rf /`~~ `ls` instead."))
    struck = root.find_all("s") + root.find_all("del")
    assert [node.text for node in struck] == ["rm -rf /"]
