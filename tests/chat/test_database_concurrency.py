"""A read while another connection writes waits for it, never fails at once.

Answers save from worker threads while pages and sockets read. SQLite's
shared in-memory database (Django's default for tests) refuses such a read
with "database table is locked" at once, which made streaming tests fail
on a busy machine; a file database (as every deployment has) lets it through.
"""

import threading

import pytest
from django.db import connection, transaction

from chatapp.chat.models import Conversation


@pytest.mark.django_db(transaction=True)
def test_a_read_goes_through_while_a_save_is_open(alice):
    Conversation.objects.create(owner=alice, title="before")
    saving, read_done = threading.Event(), threading.Event()

    def save_slowly():
        try:
            with transaction.atomic():
                Conversation.objects.create(owner=alice, title="being saved")
                saving.set()
                read_done.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=save_slowly)
    writer.start()
    try:
        assert saving.wait(10)
        titles = list(Conversation.objects.values_list("title", flat=True))
    finally:
        read_done.set()
        writer.join(10)
    assert titles == ["before"]
