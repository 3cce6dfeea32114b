"""Retries: only before anything reached the person, with backoff, honouring Retry-After."""

import asyncio
import logging

import pytest

from chatapp.providers import ChatMessage, ChatRequest, ProviderError, RetryPolicy, stream_chat

from .helpers import API_KEY, FAST_RETRY, collect, endpoint_at


def ask(fault: str) -> ChatRequest:
    return ChatRequest(model="o4-mini", messages=(ChatMessage("user", f"Hi #fault:{fault}"),))


def completions(simulator) -> int:
    return sum(r.path == "/v1/chat/completions" for r in simulator.received)


@pytest.mark.parametrize("fault", ["500x1", "503x2"])
async def test_a_passing_failure_before_the_first_token_is_retried(simulator, caplog, fault):
    caplog.set_level(logging.INFO)

    transcript = await collect(stream_chat(endpoint_at(simulator), ask(fault), retry=FAST_RETRY))

    assert transcript.error is None
    assert transcript.answer and transcript.finish == "stop"
    failures = int(fault.rsplit("x", 1)[1])
    assert completions(simulator) == failures + 1
    assert caplog.text.count("retrying a failed completion") == failures
    assert API_KEY not in caplog.text


async def test_retries_stop_after_the_last_attempt(simulator):
    transcript = await collect(stream_chat(endpoint_at(simulator), ask("503"), retry=FAST_RETRY))

    assert transcript.error.status == 503
    assert transcript.error.retryable
    assert completions(simulator) == FAST_RETRY.attempts


NEVER_RETRIED = {
    "rejected key": "401",
    "out of credits": "402",
    "unknown model": "404",
    "reset after part of the answer": "reset",
    "error event after part of the answer": "error-event",
    "ended early after part of the answer": "no-done",
}


@pytest.mark.parametrize("fault", NEVER_RETRIED.values(), ids=NEVER_RETRIED.keys())
async def test_a_failure_that_a_retry_cannot_fix_or_that_would_replay_text_is_not_retried(
    simulator, fault
):
    transcript = await collect(stream_chat(endpoint_at(simulator), ask(fault), retry=FAST_RETRY))

    assert transcript.error is not None
    assert completions(simulator) == 1


async def test_retry_after_is_honoured(simulator):
    loop = asyncio.get_running_loop()
    started = loop.time()

    transcript = await collect(stream_chat(endpoint_at(simulator), ask("429x1"), retry=FAST_RETRY))

    assert transcript.error is None
    assert loop.time() - started >= 1.0, "the simulator asked for one second"
    assert completions(simulator) == 2


async def test_a_retry_after_longer_than_the_cap_is_told_not_waited(simulator):
    impatient = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.5)

    transcript = await collect(stream_chat(endpoint_at(simulator), ask("429"), retry=impatient))

    assert transcript.error.message.endswith("Try again in 1 s.")
    assert transcript.error.retry_after == 1.0
    assert completions(simulator) == 1


async def test_retries_end_at_the_overall_deadline(simulator):
    patient = RetryPolicy(attempts=5, base_delay=5.0, max_delay=5.0)
    loop = asyncio.get_running_loop()
    started = loop.time()

    transcript = await collect(
        stream_chat(endpoint_at(simulator, deadline=1.0), ask("503"), retry=patient)
    )

    assert transcript.error.status == 503
    assert loop.time() - started < 1.0
    assert completions(simulator) == 1


RETRYABLE = ProviderError("busy", status=503, retryable=True)
POLICY = RetryPolicy(attempts=4, base_delay=1.0, max_delay=3.0)
DELAYS = {
    "first backoff": (1, RETRYABLE, (0.5, 1.0)),
    "backoff doubles": (2, RETRYABLE, (1.0, 2.0)),
    "backoff is capped": (3, RETRYABLE, (1.5, 3.0)),
    "attempts used up": (4, RETRYABLE, None),
    "not retryable": (1, ProviderError("no", status=401), None),
    "Retry-After as given": (1, ProviderError("slow", 429, retryable=True, retry_after=2.5), 2.5),
    "Retry-After over the cap": (
        1,
        ProviderError("slow", 429, retryable=True, retry_after=30),
        None,
    ),
}


@pytest.mark.parametrize(("attempt", "error", "expected"), DELAYS.values(), ids=DELAYS.keys())
def test_the_wait_before_the_next_attempt(attempt, error, expected):
    delays = {POLICY.delay(attempt, error) for _ in range(50)}

    if expected is None or isinstance(expected, float):
        assert delays == {expected}
    else:
        low, high = expected
        assert all(low <= delay <= high for delay in delays)
        assert len(delays) > 1, "jittered, so clients that failed together spread out"
