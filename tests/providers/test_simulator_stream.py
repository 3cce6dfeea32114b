"""The client against the simulator over real HTTP: what the chat shows for a normal answer."""

import re

import pytest

from chatapp.providers import ChatMessage, ChatRequest, list_models, stream_chat
from chatapp.providers.simulator import REASONING_STYLES, SIMULATED_MODELS, stream_chunks

from .conftest import CHUNK_CONTRACT
from .helpers import collect, endpoint_at


def ask(model: str = "o4-mini", effort: str | None = "medium", text: str = "Why is the sky blue?"):
    return ChatRequest(model=model, messages=(ChatMessage("user", text),), reasoning_effort=effort)


async def test_reasoning_streams_before_a_markdown_answer(simulator):
    transcript = await collect(stream_chat(endpoint_at(simulator), ask()))

    assert transcript.error is None
    assert transcript.reasoning.startswith("The user asks about: Why is the sky blue?")
    assert transcript.reasoning_came_first()
    answer = transcript.answer
    assert re.search(r"^1\. .+\n2\. .+\n3\. ", answer, re.MULTILINE), "a numbered list"
    assert "| Effort | Steps |\n| --- | --- |\n| low | 6 |" in answer, "a table"
    assert re.search(r"^```python\n.+\n```$", answer, re.MULTILINE | re.DOTALL), "a code block"
    assert transcript.finish == "stop"


async def test_usage_counts_reasoning_tokens_within_completion_tokens(simulator):
    transcript = await collect(stream_chat(endpoint_at(simulator), ask()))

    usage = transcript.usage
    assert not usage.estimated
    assert usage.prompt_tokens > 0
    assert 0 < usage.reasoning_tokens < usage.completion_tokens


async def test_higher_effort_thinks_longer(simulator):
    thinking = {}
    for effort in ("low", "medium", "high"):
        transcript = await collect(stream_chat(endpoint_at(simulator), ask(effort=effort)))
        thinking[effort] = transcript.usage.reasoning_tokens
        assert f"Reasoning effort was **{effort}**" in transcript.answer

    assert thinking["low"] < thinking["medium"] < thinking["high"]


async def test_every_model_it_lists_answers(simulator):
    endpoint = endpoint_at(simulator)

    models = await list_models(endpoint)

    assert models == sorted(SIMULATED_MODELS)
    for model in models:
        transcript = await collect(stream_chat(endpoint, ask(model=model)))
        assert transcript.error is None, model
        assert transcript.answer, model


@pytest.mark.parametrize("fault", [None, *REASONING_STYLES])
def test_simulated_chunks_follow_the_chat_completions_contract(fault):
    body = {"model": "o4-mini", "messages": [{"role": "user", "content": "hi"}]}
    for chunk in stream_chunks(body, REASONING_STYLES.get(fault, "reasoning_content")):
        CHUNK_CONTRACT.validate(chunk)
