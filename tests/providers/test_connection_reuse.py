"""Answers reuse the connection to a gateway that keeps it open.

A new connection per answer costs a TCP and a TLS handshake before the
model's first token: time a person waits for every answer.
"""

import asyncio
from dataclasses import replace

from chatapp.providers import ChatMessage, ChatRequest, stream_chat

from .helpers import FAST_RETRY, collect, endpoint_at
from .scripted import Answer

QUESTION = ChatRequest(
    model="o4-mini", messages=(ChatMessage(role="user", content="What is 17 times 24?"),)
)
RECORDED = Answer.recording("openai-o4-mini.sse")


async def answer_text(endpoint) -> str:
    return (await collect(stream_chat(endpoint, QUESTION))).answer


async def test_three_answers_from_a_keep_alive_gateway_share_one_connection(keep_alive_gateway):
    keep_alive_gateway.will_answer(RECORDED)
    endpoint = endpoint_at(keep_alive_gateway)

    answers = [await answer_text(endpoint) for _ in range(3)]

    assert answers[0] and answers == [answers[0]] * 3
    assert len(keep_alive_gateway.received) == 3
    assert keep_alive_gateway.connections == 1


async def test_many_answers_at_once_keep_their_connections_for_the_next_ones(keep_alive_gateway):
    keep_alive_gateway.will_answer(RECORDED)
    endpoint = endpoint_at(keep_alive_gateway)

    async def streaming_together(all_streaming: asyncio.Barrier) -> str:
        """Each answer holds its connection until every one of them has begun."""
        stream = stream_chat(endpoint, QUESTION)
        await anext(stream)  # the response has begun: its connection is in use
        await all_streaming.wait()
        return (await collect(stream)).answer

    for _ in range(2):
        barrier = asyncio.Barrier(30)
        answers = await asyncio.gather(*(streaming_together(barrier) for _ in range(30)))
        assert all(answers)

    assert len(keep_alive_gateway.received) == 60
    assert keep_alive_gateway.connections == 30


async def test_a_gateway_that_closes_each_connection_still_answers_every_time(gateway):
    gateway.will_answer(RECORDED)
    endpoint = endpoint_at(gateway)

    answers = [await answer_text(endpoint) for _ in range(3)]

    assert answers[0] and answers == [answers[0]] * 3


async def test_a_gateways_cookies_are_not_sent_back(keep_alive_gateway):
    """One client serves every member and every gateway key: a cookie would cross them."""
    keep_alive_gateway.will_answer(replace(RECORDED, headers={"Set-Cookie": "lb=member-a; Path=/"}))
    endpoint = endpoint_at(keep_alive_gateway)

    for _ in range(2):
        assert await answer_text(endpoint)

    assert [r.headers.get("cookie") for r in keep_alive_gateway.received] == [None, None]


async def test_an_answer_stopped_halfway_leaves_the_next_one_working(keep_alive_gateway):
    """Stop cancels the stream mid-answer: its connection must not go back half-read."""
    keep_alive_gateway.will_answer(RECORDED)
    endpoint = endpoint_at(keep_alive_gateway)
    stopped = stream_chat(endpoint, QUESTION)
    await anext(stopped)
    await stopped.aclose()

    answers = [await answer_text(endpoint) for _ in range(2)]

    assert answers[0] and answers[0] == answers[1]
    assert len(keep_alive_gateway.received) == 3


async def test_after_a_refusal_the_retry_reuses_the_connection(keep_alive_gateway):
    keep_alive_gateway.will_answer(
        Answer.error(429, {"error": {"message": "Slow down"}}, {"Retry-After": "0"}), RECORDED
    )
    endpoint = endpoint_at(keep_alive_gateway)

    answer = (await collect(stream_chat(endpoint, QUESTION, retry=FAST_RETRY))).answer

    assert answer
    assert len(keep_alive_gateway.received) == 2
    assert keep_alive_gateway.connections == 1
