"""The stream parser on its own: every way a gateway can cut or decorate a chunk."""

import pytest

from chatapp.providers import ReasoningDelta, TextDelta, ToolCallAssembler, ToolCallDelta
from chatapp.providers.parsing import ChunkParser, ThinkTagSplitter

CONTENT = "<think>\nCount the r's: three.\n</think>\n\nThere are **3** r's in strawberry."


def split_reading(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkTagSplitter()
    events = [event for piece in pieces for event in splitter.feed(piece)]
    events += splitter.flush()
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    return reasoning, answer


@pytest.mark.parametrize("cut", range(1, len(CONTENT)))
def test_think_tags_cut_anywhere_read_the_same(cut):
    assert split_reading([CONTENT[:cut], CONTENT[cut:]]) == (
        "\nCount the r's: three.\n",
        "There are **3** r's in strawberry.",
    )


def test_think_tags_one_character_at_a_time():
    assert split_reading(list(CONTENT)) == split_reading([CONTENT])


@pytest.mark.parametrize(
    "text",
    ["a < b and <thought> is not a tag", "ends with <thi", "2 <th 3"],
)
def test_text_that_only_looks_like_a_tag_is_answer(text):
    assert split_reading([text[:5], text[5:]]) == ("", text)


@pytest.mark.parametrize(
    "nonsense",
    ["12", -3, 3.5, True, 10**12, [12], {"total": 12}],
    ids=["text", "negative", "fraction", "boolean", "past any request", "list", "object"],
)
@pytest.mark.parametrize("field", ["prompt_tokens", "completion_tokens"])
def test_usage_whose_counts_are_not_counts_is_not_taken(field, nonsense):
    """Taken as zero, the answer was billed nothing; the client estimates it instead."""
    parser = ChunkParser()
    usage = {"prompt_tokens": 12, "completion_tokens": 40, field: nonsense}
    list(parser.feed({"choices": [], "usage": usage}))

    assert parser.usage is None


def test_a_nonsense_report_does_not_replace_an_earlier_good_one():
    parser = ChunkParser()
    list(parser.feed({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 40}}))
    list(parser.feed({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": "41"}}))

    assert (parser.usage.prompt_tokens, parser.usage.completion_tokens) == (12, 40)


def test_odd_details_count_as_zero():
    parser = ChunkParser()
    list(
        parser.feed(
            {
                "choices": [],
                "usage": {
                    "prompt_tokens": 12,
                    "completion_tokens": 40,
                    "prompt_tokens_details": {"cached_tokens": "8"},
                    "completion_tokens_details": {"reasoning_tokens": 5},
                },
            }
        )
    )

    assert (parser.usage.prompt_tokens, parser.usage.completion_tokens) == (12, 40)
    assert (parser.usage.cached_tokens, parser.usage.reasoning_tokens) == (0, 5)


def test_only_the_last_usage_counts_when_a_gateway_repeats_a_running_total():
    parser = ChunkParser()
    for total in (10, 20, 30):
        list(parser.feed({"choices": [], "usage": {"completion_tokens": total}}))

    assert parser.usage.completion_tokens == 30


def test_a_tool_name_repeated_on_every_fragment_is_kept_once():
    calls = ToolCallAssembler()
    for fragment in ('{"q":', '"tea"}'):
        calls.add(ToolCallDelta(index=0, id="call_1", name="search", arguments=fragment))

    [call] = calls.calls
    assert (call.name, call.parsed_arguments()) == ("search", {"q": "tea"})


def test_unfinished_arguments_are_not_mistaken_for_an_object():
    calls = ToolCallAssembler()
    calls.add(ToolCallDelta(index=0, name="search", arguments='{"q": "te'))

    assert calls.calls[0].parsed_arguments() is None
