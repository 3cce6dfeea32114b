"""Answers reuse the connection to a gateway that keeps it open.

A new connection per answer costs a TCP and a TLS handshake before the
model's first token: time a person waits for every answer.
"""

from chatapp.providers import ChatMessage, ChatRequest, stream_chat

from .helpers import collect, endpoint_at
from .scripted import Answer

QUESTION = ChatRequest(
    model="o4-mini", messages=(ChatMessage(role="user", content="What is 17 times 24?"),)
)


async def test_three_answers_from_a_keep_alive_gateway_share_one_connection(keep_alive_gateway):
    keep_alive_gateway.will_answer(Answer.recording("openai-o4-mini.sse"))
    endpoint = endpoint_at(keep_alive_gateway)

    answers = [(await collect(stream_chat(endpoint, QUESTION))).answer for _ in range(3)]

    assert answers[0] and answers == [answers[0]] * 3
    assert len(keep_alive_gateway.received) == 3
    assert keep_alive_gateway.connections == 1


async def test_a_gateway_that_closes_each_connection_still_answers_every_time(gateway):
    gateway.will_answer(Answer.recording("openai-o4-mini.sse"))
    endpoint = endpoint_at(gateway)

    answers = [(await collect(stream_chat(endpoint, QUESTION))).answer for _ in range(3)]

    assert answers[0] and answers == [answers[0]] * 3
    assert gateway.connections == 3
