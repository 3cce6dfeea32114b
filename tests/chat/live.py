"""Websocket clients on the real ASGI stack, and readers for the fragments they receive."""

import asyncio
import json
import re
from dataclasses import dataclass, field

from channels.testing import WebsocketCommunicator

from chatapp.asgi import application
from chatapp.chat import generation

from .dom import Node, parse

ORIGIN = b"http://127.0.0.1"


@dataclass
class Socket:
    """One browser tab's websocket: what it sent and every frame it received."""

    communicator: WebsocketCommunicator
    connected: bool
    close_code: int | str | None = None
    frames: list[str] = field(default_factory=list)

    async def send(self, **payload) -> None:
        await self.communicator.send_to(text_data=json.dumps(payload))

    async def send_raw(self, text: str | None = None, data: bytes | None = None) -> None:
        await self.communicator.send_to(text_data=text, bytes_data=data)

    async def receive(self, timeout: float = 5) -> str:
        frame = await self.communicator.receive_from(timeout=timeout)
        self.frames.append(frame)
        return frame

    async def receive_until(self, predicate, timeout: float = 10) -> str:
        """Frames until one satisfies ``predicate``; that frame."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no matching frame within {timeout} s; got {self.frames}")
            frame = await self.receive(timeout=left)
            if predicate(frame):
                return frame

    async def receive_final(self, status: str = "complete", timeout: float = 10) -> Node:
        """Wait for the assistant's message swapped in whole; its ``<article>``."""
        frame = await self.receive_until(lambda f: final_article(f, status) is not None, timeout)
        return final_article(frame, status)

    async def receive_reply_id(self, timeout: float = 10) -> int:
        """Wait for a send's new turn (the question and its empty answer); the answer's pk."""
        frame = await self.receive_until(turn_articles, timeout)
        return message_pk(turn_articles(frame)[1])

    async def ask(self, text: str, **fields) -> int:
        """Send ``text`` and wait until its answer is complete; the answer's pk."""
        await self.send(message=text, reasoning_effort="low", **fields)
        reply_id = await self.receive_reply_id()
        await self.receive_final()
        return reply_id

    async def receive_status(self, timeout: float = 5) -> str:
        """The next composer status line shown to the user."""
        frame = await self.receive_until(lambda f: 'id="composer-status"' in f, timeout)
        return parse(frame).by_id("composer-status").visible_text

    async def nothing_more(self, timeout: float = 0.1) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)


async def open_socket(
    public_id,
    session_key: str | None = None,
    origin: bytes | None = ORIGIN,
    seen: int | None = None,
):
    """``seen``: the newest message the page showed, as a page's socket says."""
    headers = []
    if origin is not None:
        headers.append((b"origin", origin))
    if session_key is not None:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    query = "" if seen is None else f"?seen={seen}"
    communicator = WebsocketCommunicator(
        application, f"/ws/conversations/{public_id}/{query}", headers=headers
    )
    connected, detail = await communicator.connect(timeout=5)
    socket = Socket(communicator, connected)
    if not connected:
        socket.close_code = detail
    return socket


async def finish_generations(timeout: float = 10) -> None:
    """Let every generation still running in this process end, so tests stay independent."""
    tasks = [g.task for g in generation.all_running() if g.task is not None]
    try:
        if tasks:
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    finally:
        for task in tasks:
            task.cancel()
        generation._running.clear()
        generation._by_message.clear()


# Reading fragments.


def final_article(frame: str, status: str) -> Node | None:
    """The whole-message swap (``hx-swap-oob="true"``) with ``data-status=status``, if present."""
    for article in parse(frame).find_all("article", data_status=status, hx_swap_oob="true"):
        return article
    return None


def turn_articles(frame: str) -> tuple[Node, Node] | None:
    """The (user, assistant) articles a send appends to ``#messages``, if this frame has them."""
    for wrapper in parse(frame).find_all("div", hx_swap_oob="beforeend:#messages"):
        user = wrapper.find_all("article", data_role="user")
        reply = wrapper.find_all("article", data_role="assistant")
        if user and reply:
            return user[0], reply[0]
    return None


def message_pk(article: Node) -> int:
    return int(re.fullmatch(r"message-(\d+)", article.get("id")).group(1))


def deltas(frame: str, message_id: int, part: str) -> str:
    """Text this frame appends to the message's ``reasoning`` or ``answer`` pane."""
    target = f"beforeend:#message-{message_id}-{part}"
    return "".join(node.text for node in parse(frame).find_all("div", hx_swap_oob=target))


def streamed(frames: list[str], message_id: int, part: str) -> str:
    return "".join(deltas(frame, message_id, part) for frame in frames)
