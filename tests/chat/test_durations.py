"""How long a model thought, as the reasoning summary says it ("Thought for …")."""

import pytest

from chatapp.chat.templatetags.chat_extras import duration

DURATIONS = {
    None: "",
    0.4: "less than a second",
    1.0: "1 s",
    59.4: "59 s",
    # Rounded once: 59.7 s read "60 s", a minute written as seconds.
    59.7: "1 min 0 s",
    60.0: "1 min 0 s",
    125.6: "2 min 6 s",
}


@pytest.mark.parametrize(("seconds", "said"), DURATIONS.items())
def test_a_thinking_time_reads_as_a_person_would_say_it(seconds, said):
    assert duration(seconds) == said
