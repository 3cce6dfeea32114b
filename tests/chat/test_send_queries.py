"""A send's database work stays a handful of queries, however long the chat.

Under load every query of a send waits its turn for the worker thread to get
back to Python (benchmarks/relay.py): round trips, more than CPU, decide how
fast a burst of sends starts answering.
"""

import pytest

from chatapp.accounts.middleware import SocketLogin
from chatapp.chat.models import Conversation
from chatapp.chat.services import _start_turn
from chatapp.gateways.registry import model_choices

pytestmark = pytest.mark.django_db

SEND = {"message": "And a heap?", "model": "o4-mini", "reasoning_effort": "low"}


@pytest.fixture
def long_chat(alice, add_answered_questions) -> Conversation:
    conversation = Conversation.objects.create(owner=alice, model="o4-mini", title="Trees")
    add_answered_questions(conversation, 30)
    model_choices()  # read once per process, not per send
    return conversation


def test_a_send_in_a_text_chat_takes_seven_queries(long_chat, django_assert_num_queries):
    # BEGIN, lock (with the busy, messages and images checks), the
    # conversation, the question, the empty answer, COMMIT, the history.
    with django_assert_num_queries(7):
        turn = _start_turn(long_chat, SEND, "generation.test", login=None)

    sent = [(m.role, m.content) for m in turn.request.messages]
    assert len(sent) == 61
    assert sent[-2:] == [("assistant", "Answer 29"), ("user", "And a heap?")]


def test_the_first_send_of_a_new_chat_reads_no_history(alice, django_assert_num_queries):
    new_chat = Conversation.objects.create(owner=alice, model="o4-mini", system_prompt="Be brief.")
    model_choices()

    with django_assert_num_queries(6):
        turn = _start_turn(new_chat, SEND, "generation.test", login=None)

    assert [(m.role, m.content) for m in turn.request.messages] == [
        ("system", "Be brief."),
        ("user", "And a heap?"),
    ]
    assert turn.question.content == "And a heap?" and turn.context_tokens > 0


def test_a_sockets_login_check_adds_two_queries_to_the_same_trip(
    long_chat, alice, alice_session, django_assert_num_queries
):
    # The session and its user, read in the send's own worker-thread trip.
    with django_assert_num_queries(9):
        _start_turn(long_chat, SEND, "generation.test", login=SocketLogin(alice.pk, alice_session))
