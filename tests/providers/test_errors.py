"""Errors a person understands, and an API key that never shows, through real HTTP."""

import asyncio
import json
import logging

import httpx
import pytest

from chatapp.providers import (
    GENERIC,
    NO_RETRY,
    ChatMessage,
    ChatRequest,
    Endpoint,
    ProviderError,
    list_models,
    stream_chat,
)
from chatapp.providers import client as provider_client
from tests.conftest import free_port

from .conftest import ERROR_CONTRACT
from .helpers import API_KEY, FAST_RETRY, collect, endpoint_at
from .scripted import Answer, ScriptedGateway

REQUEST = ChatRequest(model="o4-mini", messages=(ChatMessage("user", "Hello"),))


async def failure(endpoint: Endpoint, request: ChatRequest = REQUEST, family=None):
    transcript = await collect(stream_chat(endpoint, request, family, retry=NO_RETRY))
    assert transcript.events == [], "nothing reached the person before the error"
    return transcript.error


STATUS_FAULTS = {
    "401": (
        "AIgateway rejected the API key. An administrator needs to check the key configured "
        "for AIgateway.",
        False,
        None,
    ),
    "402": (
        "AIgateway reports that the account is out of credits. An administrator needs to top "
        "it up.",
        False,
        None,
    ),
    "404": (
        "AIgateway does not know this model (or the endpoint is wrong). "
        "(The model 'o4-mini' does not exist.)",
        False,
        None,
    ),
    "429": ("AIgateway is rate limiting requests. Try again in 1 s.", True, 1.0),
    "500": ("AIgateway had a server error (500). Try again in a moment.", True, None),
    "503": ("AIgateway had a server error (503). Try again in a moment.", True, None),
}


@pytest.mark.parametrize(("fault", "expected"), STATUS_FAULTS.items(), ids=STATUS_FAULTS.keys())
async def test_each_status_reads_as_a_sentence(simulator, fault, expected):
    message, retryable, retry_after = expected
    request = ChatRequest(model="o4-mini", messages=(ChatMessage("user", f"Hi #fault:{fault}"),))

    error = await failure(endpoint_at(simulator, "AIgateway"), request)

    assert (error.message, error.retryable, error.retry_after) == (message, retryable, retry_after)
    assert error.status == int(fault)
    assert API_KEY not in repr(error)


async def test_the_simulator_error_bodies_follow_openai_shape(simulator):
    async with httpx.AsyncClient() as client:
        for fault in STATUS_FAULTS:
            response = await client.post(
                simulator.base_url + "/chat/completions",
                json={"model": "o4-mini", "messages": [{"role": "user", "content": "Hi"}]},
                headers={"X-Simulator-Fault": fault},
            )
            assert response.status_code == int(fault)
            assert response.headers.get("retry-after") == ("1" if fault == "429" else None)
            ERROR_CONTRACT.validate(response.json())


UNSUPPORTED_PARAMETER = {
    "OpenAI names it in param": (
        {
            "error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this "
                "model. Use 'max_completion_tokens' instead.",
                "type": "invalid_request_error",
                "param": "max_tokens",
                "code": "unsupported_parameter",
            }
        },
        "max_tokens",
    ),
    "a gateway names it only in the sentence": (
        {"error": {"message": "Unsupported parameter: 'temperature'", "code": 400}},
        "temperature",
    ),
}


@pytest.mark.parametrize(
    ("body", "parameter"), UNSUPPORTED_PARAMETER.values(), ids=UNSUPPORTED_PARAMETER.keys()
)
async def test_an_unsupported_parameter_is_named(gateway, body, parameter):
    gateway.will_answer(Answer.error(400, body))

    error = await failure(endpoint_at(gateway, "AI/ML API"))

    assert error.message.startswith(
        f"AI/ML API rejected the request: the parameter '{parameter}' is not supported."
    )
    assert error.param == parameter
    assert not error.retryable


async def test_a_wrongly_chosen_family_is_refused_by_the_simulator_too(simulator):
    request = ChatRequest(
        model="o1-mini", messages=(ChatMessage("user", "Hi"),), max_output_tokens=9
    )

    error = await failure(endpoint_at(simulator, "Simulator"), request, family=GENERIC)

    assert error.message.startswith(
        "Simulator rejected the request: the parameter 'max_tokens' is not supported."
    )


async def test_openai_out_of_quota_is_not_a_rate_limit(gateway):
    gateway.will_answer(
        Answer.error(
            429,
            {
                "error": {
                    "message": "You exceeded your current quota.",
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                }
            },
        )
    )

    error = await failure(endpoint_at(gateway, "OpenAI"))

    assert "out of credits" in error.message
    assert not error.retryable


KEY_ECHOES = {
    "400 detail": Answer.error(
        400, {"error": {"message": f"Malformed header for key {API_KEY}", "param": None}}
    ),
    "404 detail": Answer.error(404, {"error": {"message": f"No model for key {API_KEY}"}}),
    "mid-stream error": Answer(
        body=f'data: {{"error": {{"message": "key {API_KEY} suspended"}}}}\n\n'.encode()
    ),
    # Shortened before masking, the key was cut at the limit and most of it shown.
    "key across the length limit": Answer.error(
        400, {"error": {"message": "Bad request. " + "x" * 171 + f" {API_KEY} and more"}}
    ),
    "key across the limit, mid-stream": Answer(
        body=f'data: {{"error": {{"message": "{"y" * 184} {API_KEY} and more"}}}}\n\n'.encode()
    ),
}
# Another gateway's key, or a token, in the gateway's words: masked as well.
OTHER_SECRETS = {
    "another key": "sk-proj-Zq81mW0pLx7vN3bT",
    "a bearer token": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc123",
}


@pytest.mark.parametrize("answer", KEY_ECHOES.values(), ids=KEY_ECHOES.keys())
async def test_a_key_echoed_by_the_gateway_never_reaches_the_person(gateway, caplog, answer):
    gateway.will_answer(answer)
    caplog.set_level(logging.DEBUG)

    error = (await collect(stream_chat(endpoint_at(gateway), REQUEST))).error

    assert error is not None
    assert "[redacted]" in error.message
    for shown in (error.message, str(error), repr(error), caplog.text):
        assert API_KEY[:10] not in shown


@pytest.mark.parametrize("secret", OTHER_SECRETS.values(), ids=OTHER_SECRETS.keys())
async def test_other_secrets_in_the_gateways_words_are_masked(gateway, secret):
    gateway.will_answer(Answer.error(400, {"error": {"message": f"Not allowed: {secret}"}}))

    error = (await collect(stream_chat(endpoint_at(gateway), REQUEST))).error

    assert "Not allowed: [redacted]" in error.message
    assert secret.split()[-1][:10] not in error.message


async def test_the_simulator_echoes_the_key_and_the_client_hides_it(simulator, caplog):
    caplog.set_level(logging.DEBUG)
    request = ChatRequest(model="o4-mini", messages=(ChatMessage("user", "Hi #fault:401"),))

    error = await failure(endpoint_at(simulator), request)

    assert API_KEY in simulator.received[-1].headers["authorization"]
    assert API_KEY not in error.message + repr(error) + caplog.text


async def test_listing_models_reports_the_same_errors():
    endpoint = Endpoint("AIgateway", f"http://127.0.0.1:{free_port()}/v1", API_KEY)

    with pytest.raises(ProviderError) as raised:
        await list_models(endpoint)

    assert raised.value.message == "Could not connect to AIgateway: the connection was refused."


# Keys as pasted from a page or a document: no HTTP header can carry them.
UNSENDABLE_KEYS = {
    "non-breaking space": f"{API_KEY}\u00a0",
    "typographic dash": API_KEY.replace("-", "\u2011", 1),
    "line break": f"{API_KEY}\n",
}
UNSENDABLE_KEY_MESSAGE = (
    "The API key configured for AIgateway contains a character a key cannot have (often a "
    "space pasted with it), so it was not sent. An administrator needs to check the key "
    "configured for AIgateway."
)


@pytest.mark.parametrize("key", UNSENDABLE_KEYS.values(), ids=UNSENDABLE_KEYS.keys())
async def test_a_key_no_header_can_carry_is_a_clear_error_and_another_gateway_may_answer(
    gateway, caplog, key
):
    caplog.set_level(logging.DEBUG)
    endpoint = Endpoint("AIgateway", gateway.base_url, key)

    answer = await collect(stream_chat(endpoint, REQUEST, retry=FAST_RETRY))
    with pytest.raises(ProviderError) as listing:
        await list_models(endpoint)

    for error in (answer.error, listing.value):
        assert error.message == UNSENDABLE_KEY_MESSAGE
        assert error.retryable, "a caller may hand over to another gateway"
        assert API_KEY[:10] not in error.message + repr(error)
    assert answer.events == []
    assert gateway.received == [], "not sent, nor tried again"
    assert API_KEY[:10] not in caplog.text


MALFORMED_MODEL_LISTS = {
    "no list": {"data": None},
    "a number": {"data": 5},
    "no data": {"object": "list"},
    "ids missing": {"data": [{"object": "model"}]},
}


@pytest.mark.parametrize("body", MALFORMED_MODEL_LISTS.values(), ids=MALFORMED_MODEL_LISTS.keys())
async def test_a_malformed_model_list_is_a_clear_error(body):
    server = ScriptedGateway()  # not `gateway`: a GET carries no completion request to check
    await server.start()
    server.will_answer(Answer.json(body))

    try:
        with pytest.raises(ProviderError) as raised:
            await list_models(endpoint_at(server, "AIgateway"))
    finally:
        await server.stop()

    assert raised.value.message == "AIgateway answered the model list in an unknown format."


# A mid-stream error's code: an HTTP-like number decides retrying; other digits do not.
STREAM_ERROR_CODES = {"503": 503, "²": None, "9" * 5000: None, "42": None, "overloaded": None}


@pytest.mark.parametrize(
    "code", STREAM_ERROR_CODES, ids=["503", "superscript", "huge", "42", "words"]
)
async def test_a_mid_stream_error_code_is_read_as_a_status_only_when_it_is_one(gateway, code):
    event = json.dumps({"error": {"message": "Trouble", "code": code}})
    gateway.will_answer(Answer(body=f"data: {event}\n\n".encode()))

    error = (await collect(stream_chat(endpoint_at(gateway), REQUEST, retry=NO_RETRY))).error

    assert error.status == STREAM_ERROR_CODES[code]
    assert "reported an error during the answer: Trouble" in error.message


@pytest.fixture
async def self_signed_server(tls_certificates):
    """A TLS server whose certificate comes from a CA this client does not trust."""
    context = tls_certificates.server_context()

    async def hang_up(reader, writer):
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0, ssl=context)
    yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    server.close()
    await server.wait_closed()


CONNECTION_FAILURES = {
    "refused": (
        lambda ctx: f"http://127.0.0.1:{free_port()}/v1",
        "Could not connect to Gateway: the connection was refused.",
        True,
    ),
    "DNS": (
        lambda ctx: "http://gateway.invalid/v1",
        "Could not connect to Gateway: the host name could not be resolved.",
        None,  # a resolver hiccup (EAI_AGAIN) is retryable, an unknown name is not
    ),
    "TLS certificate": (
        lambda ctx: ctx["self_signed"],
        "Could not connect to Gateway: its TLS certificate could not be verified.",
        False,
    ),
    "not an http URL": (
        lambda ctx: "ftp://gateway.example/v1",
        "The base URL configured for Gateway is not a valid http(s) address.",
        False,
    ),
    # The resolver wraps it round: 99999 connected to port 34463.
    "port out of range": (
        lambda ctx: "http://127.0.0.1:99999/v1",
        "The base URL configured for Gateway is not a valid http(s) address.",
        False,
    ),
}


@pytest.mark.parametrize(
    ("base_url", "message", "retryable"),
    CONNECTION_FAILURES.values(),
    ids=CONNECTION_FAILURES.keys(),
)
async def test_a_connection_failure_says_what_failed(
    self_signed_server, base_url, message, retryable
):
    urls = {"self_signed": self_signed_server}
    endpoint = Endpoint("Gateway", base_url(urls), API_KEY)

    error = await failure(endpoint)

    assert error.message == message
    if retryable is not None:
        assert error.retryable is retryable


async def test_the_overall_deadline_cuts_off_a_slow_answer(simulator):
    request = ChatRequest(model="o4-mini", messages=(ChatMessage("user", "Hi #fault:stall"),))
    endpoint = endpoint_at(simulator, "Gateway", read=30, deadline=0.5)

    transcript = await collect(stream_chat(endpoint, request, retry=NO_RETRY))

    assert transcript.error.message == (
        "Gateway took longer than 0.5 s in total, so the answer was cut off."
    )
    assert not transcript.error.retryable
    assert transcript.answer, "what arrived before the deadline is kept"


async def test_the_deadline_leaves_the_callers_own_work_alone(simulator):
    """Passing while the caller handles a chunk, it cuts off the next wait instead."""
    request = ChatRequest(model="o4-mini", messages=(ChatMessage("user", "Hi"),))
    endpoint = endpoint_at(simulator, "Gateway", deadline=1.0)
    stream = stream_chat(endpoint, request, retry=NO_RETRY)

    await anext(stream)
    await asyncio.sleep(1.3)  # the caller's own work, past the deadline
    with pytest.raises(ProviderError) as cut_off:
        await anext(stream)

    assert cut_off.value.code == "deadline"


async def test_stopping_during_a_wait_is_not_taken_for_the_deadline(simulator):
    request = ChatRequest(model="o4-mini", messages=(ChatMessage("user", "Hi #fault:stall"),))
    endpoint = endpoint_at(simulator, "Gateway", deadline=60)
    reading = asyncio.create_task(collect(stream_chat(endpoint, request, retry=NO_RETRY)))
    await asyncio.sleep(0.3)  # the answer so far arrived; the stream now waits

    reading.cancel()

    with pytest.raises(asyncio.CancelledError):
        await reading


def _stop_then_deadline(task: asyncio.Task, deadline) -> None:
    task.cancel()
    deadline._pass()


def _deadline_then_stop(task: asyncio.Task, deadline) -> None:
    deadline._pass()
    task.cancel()


@pytest.mark.parametrize("both", [_stop_then_deadline, _deadline_then_stop])
async def test_a_stop_in_the_same_moment_as_the_deadline_stays_a_stop(both):
    """The answer is then kept as stopped, not reported as too slow."""
    loop = asyncio.get_running_loop()
    deadline = provider_client._Deadline(loop.time() + 60)

    async def waiting():
        with deadline:
            loop.call_soon(both, asyncio.current_task(), deadline)
            await asyncio.sleep(5)

    waiter = asyncio.create_task(waiting())
    with pytest.raises(asyncio.CancelledError):
        await waiter
    deadline.close()

    assert waiter.cancelling() == 1, "the stop is still the task's, the deadline's is taken back"


async def test_the_deadline_alone_is_a_timeout_and_leaves_no_cancellation():
    loop = asyncio.get_running_loop()
    deadline = provider_client._Deadline(loop.time() + 0.05)

    async def waiting():
        with pytest.raises(TimeoutError), deadline:
            await asyncio.sleep(5)
        return asyncio.current_task().cancelling()

    assert await asyncio.create_task(waiting()) == 0
