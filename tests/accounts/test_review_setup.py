"""The first-run page: one administrator however many open it at once, a name typed as at login."""

import sys
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.signals import got_request_exception
from django.db import connection
from django.test import Client
from django.views.debug import ExceptionReporter

from chatapp.accounts.forms import FirstAdminForm
from tests.chat.dom import by_label, parse

User = get_user_model()


def setup_data(username: str) -> dict:
    phrase = f"{username} picks a long pass phrase 42"
    return {"username": username, "password1": phrase, "password2": phrase}


@pytest.mark.django_db(transaction=True)
def test_two_people_racing_the_setup_page_make_one_administrator(monkeypatch):
    """Fails on PostgreSQL without the table lock (run the suite with a
    postgres DATABASE_URL, as CI does); SQLite's IMMEDIATE transactions
    already let one set-up through at a time."""
    first_saving, second_done = threading.Event(), threading.Event()
    save = FirstAdminForm.save
    first_thread = []

    def save_slowly(form, commit=True):
        # The first set-up stops just before it saves, inside its transaction,
        # until the second has finished (or has had 2 s to try).
        if threading.current_thread() in first_thread:
            first_saving.set()
            second_done.wait(2)
        return save(form, commit)

    monkeypatch.setattr(FirstAdminForm, "save", save_slowly)
    statuses = []

    def first_setup():
        try:
            statuses.append(Client().post("/setup/", setup_data("first")).status_code)
        finally:
            connection.close()

    first = threading.Thread(target=first_setup)
    first_thread.append(first)
    first.start()
    try:
        assert first_saving.wait(10)
        statuses.append(Client().post("/setup/", setup_data("second")).status_code)
    finally:
        second_done.set()
        first.join(10)

    assert sorted(statuses) == [302, 404]
    assert list(User.objects.values_list("username", flat=True)) == ["first"]


@pytest.mark.django_db
def test_the_setup_username_is_typed_as_the_login_form_expects_it(client):
    """Phones capitalise a text field's first letter: "root" became "Root", and
    the login form (which does not) then refused "root". Password managers
    need to know which field is the name to save it with the new password."""
    page = parse(client.get("/setup/").content.decode())
    username = by_label(page, "Username")
    assert username.get("autocapitalize") == "none"
    assert username.get("autocomplete") == "username"


@pytest.mark.django_db
def test_a_failing_setup_keeps_the_password_out_of_the_error_report(monkeypatch):
    """Django's error reports (the e-mail to ADMINS, a logged request) list its POST data."""
    failed = []

    def broken_save(form, commit=True):
        raise RuntimeError("the disk is full")

    def keep_report(sender, request, **kwargs):
        failed.append(ExceptionReporter(request, *sys.exc_info()).get_traceback_text())

    monkeypatch.setattr(FirstAdminForm, "save", broken_save)
    got_request_exception.connect(keep_report)
    try:
        data = setup_data("root")
        Client(raise_request_exception=False).post("/setup/", data)
    finally:
        got_request_exception.disconnect(keep_report)

    [report] = failed
    assert "the disk is full" in report and "'root'" in report
    assert data["password1"] not in report
