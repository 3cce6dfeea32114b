"""The first message after a start loads nothing: the server loaded it on start.

What loads on first use (a module, a compiled template) stops the event
loop, and every answer streaming in the process, while it loads. Each case
runs in a fresh interpreter, as a server process starts.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The first answer's own work: its question's link, its HTML, the request to the
# gateway, the finished answer's markdown and article.
FIRST_SEND = """
import asyncio, json, sys
if sys.argv[1] == "loaded ahead":
    # The server's own start, up to where daphne would take over.
    from daphne.cli import CommandLineInterface
    CommandLineInterface.entrypoint = classmethod(lambda cls: None)
    from chatapp import serve
    serve.main()
else:
    import chatapp.asgi
from django.template import engines
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from chatapp.chat.markdown import render_markdown
from chatapp.chat.models import Message
from chatapp.providers import ChatMessage, ChatRequest, Endpoint, TextDelta, stream_chat
from chatapp.providers.simulator import SimulatorServer

async def first_send():
    simulator = SimulatorServer(chunk_delay=0)
    await simulator.start()
    templates = engines["django"].engine.template_loaders[0].get_template_cache
    compiled_before = set(templates)
    modules_before = set(sys.modules)
    reverse("conversation", kwargs={"public_id": "6f1c9b7e-2d8a-4035-9c1e-0a7b3c5d9e11"})
    render_to_string("chat/conversation.html#composer_reset", {})
    request = ChatRequest(model="o4-mini", messages=(ChatMessage("user", "Hi"),))
    answer = ""
    async for event in stream_chat(Endpoint("Simulator", simulator.base_url), request):
        answer += event.text if isinstance(event, TextDelta) else ""
    await simulator.stop()
    finished = Message(
        pk=1, role="assistant", status="complete", content=answer, model="o4-mini",
        rendered_html=render_markdown(answer), created_at=timezone.now(),
    )
    render_to_string("chat/conversation.html#message", {"message": finished, "oob": True})
    return {
        "imported": sorted(set(sys.modules) - modules_before),
        "compiled": sorted(set(templates) - compiled_before),
    }

print(json.dumps(asyncio.run(first_send())))
"""


def first_send(how: str) -> dict:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/"),
        "DJANGO_SETTINGS_MODULE": "chatapp.settings",
        "DEBUG": "0",
        "SECRET_KEY": "load-ahead-test-" + "x" * 50,
    }
    result = subprocess.run(
        [sys.executable, "-c", FIRST_SEND, how],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("how", "loads_on_first_send"),
    [("loaded ahead", False), ("as Django and httpcore would", True)],
    ids=["started by chatapp.serve", "without loading ahead"],
)
def test_the_first_send_loads_nothing_once_the_server_loaded_ahead(how, loads_on_first_send):
    loaded = first_send(how)

    assert bool(loaded["imported"] or loaded["compiled"]) is loads_on_first_send, loaded
