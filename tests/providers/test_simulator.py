"""The simulator as a stand-in gateway: it looks at images and refuses what real models refuse."""

import httpx
import pytest

from chatapp.providers import NO_RETRY, ChatMessage, ChatRequest, ImagePart, stream_chat

from .conftest import ERROR_CONTRACT
from .helpers import collect, endpoint_at, image_data_url


def with_images(model: str, *urls: str) -> ChatRequest:
    images = tuple(ImagePart(url) for url in urls)
    return ChatRequest(
        model=model, messages=(ChatMessage("user", "What do you see?", images=images),)
    )


async def test_it_reports_each_image_exact_size_and_colour(simulator):
    request = with_images(
        "o4-mini",
        image_data_url(64, 48, "#ff0000"),
        image_data_url(10, 20, "#0ac81e", "GIF"),
    )

    transcript = await collect(stream_chat(endpoint_at(simulator), request))

    assert "Image 1: 64\u00d748 pixels, average colour #ff0000." in transcript.answer
    assert "Image 2: 10\u00d720 pixels, average colour #0ac81e." in transcript.answer
    assert "2 images to look at" in transcript.reasoning


async def test_it_says_when_it_cannot_look(simulator):
    request = with_images(
        "o4-mini", "https://example.com/cat.png", "data:image/png;base64,bm90IGFuIGltYWdl"
    )

    transcript = await collect(stream_chat(endpoint_at(simulator), request))

    assert "Image 1: not a data URL, so the simulator cannot look at it." in transcript.answer
    assert "Image 2: the bytes are not an image the simulator can decode." in transcript.answer


@pytest.mark.parametrize("model", ["o3-mini", "o1-mini"])
async def test_models_without_vision_never_receive_images(simulator, model):
    transcript = await collect(
        stream_chat(endpoint_at(simulator), with_images(model, image_data_url(8, 8, "blue")))
    )

    assert transcript.error is None
    assert "Image 1" not in transcript.answer
    assert simulator.received[-1].body["messages"] == [
        {"role": "user", "content": "What do you see?"}
    ]


REFUSED = {
    "max_tokens": ("o4-mini", {"max_tokens": 10}, "max_tokens"),
    "temperature": ("o3-mini", {"temperature": 0.5}, "temperature"),
    "top_p": ("o4-mini", {"top_p": 0.5}, "top_p"),
    "stop": ("o4-mini", {"stop": ["END"]}, "stop"),
    "effort on o1-mini": ("o1-mini", {"reasoning_effort": "low"}, "reasoning_effort"),
    "tools on o1-mini": (
        "o1-mini",
        {"tools": [{"type": "function", "function": {"name": "f"}}]},
        "tools",
    ),
    "JSON on o1-mini": ("o1-mini", {"response_format": {"type": "json_object"}}, "response_format"),
    "system on o1-mini": (
        "o1-mini",
        {"messages": [{"role": "system", "content": "Be brief."}]},
        "messages[0].role",
    ),
    "image on o3-mini": (
        "o3-mini",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": image_data_url(2, 2, "red")}}
                    ],
                }
            ]
        },
        "messages[0].content",
    ),
}


@pytest.mark.parametrize(("model", "change", "param"), REFUSED.values(), ids=REFUSED.keys())
async def test_it_refuses_what_the_real_model_refuses(simulator, model, change, param):
    body = {"model": model, "messages": [{"role": "user", "content": "Hi"}], **change}

    async with httpx.AsyncClient() as client:
        response = await client.post(simulator.base_url + "/chat/completions", json=body)

    assert response.status_code == 400
    ERROR_CONTRACT.validate(response.json())
    assert response.json()["error"]["param"] == param


async def test_a_fault_limited_to_n_requests_fails_only_identical_requests_n_times(simulator):
    endpoint = endpoint_at(simulator)
    first = ChatRequest(model="o4-mini", messages=(ChatMessage("user", "One #fault:503x1"),))
    second = ChatRequest(model="o4-mini", messages=(ChatMessage("user", "Two #fault:503x1"),))

    outcomes = [
        (await collect(stream_chat(endpoint, request, retry=NO_RETRY))).error
        for request in (first, first, second)
    ]

    assert [error and error.status for error in outcomes] == [503, None, 503]


async def test_the_header_selects_a_fault_as_the_message_token_does(simulator):
    async with httpx.AsyncClient() as client:
        response = await client.post(
            simulator.base_url + "/chat/completions",
            json={"model": "o4-mini", "messages": [{"role": "user", "content": "Hi"}]},
            headers={"X-Simulator-Fault": "402"},
        )

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"


async def test_stopping_the_server_ends_a_stalled_stream(simulator):
    request = ChatRequest(model="o4-mini", messages=(ChatMessage("user", "Hi #fault:stall"),))
    stream = stream_chat(endpoint_at(simulator), request, retry=NO_RETRY)
    assert await anext(stream)

    await simulator.stop()

    transcript = await collect(stream)
    # A FIN or a reset, depending on what the kernel still held: either way, not a hang.
    assert transcript.error.code in ("incomplete_stream", "connection_lost")
    assert transcript.finish is None
