"""A member changes their own password: this browser stays in, others end, guesses are limited."""

import uuid

import pytest
from django.test import Client

from tests.chat.dom import all_by_role, by_label, by_role, parse

pytestmark = pytest.mark.django_db

PAGE = "/accounts/password/"
NEW = "a fresh pass phrase 42"


@pytest.fixture(autouse=True)
def own_cache(settings):
    """A cache of the test's own: no failures counted by another test."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture
def throttle(settings):
    """A lockout after three failures."""
    settings.LOGIN_FAILURES_ALLOWED = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    return settings


def fill_in(client, old, new, confirmation=None, address="203.0.113.5"):
    """Fill in the page's form by its labels and send it, as a member would."""
    page = parse(client.get(PAGE).content.decode())
    data = {
        node.get("name"): node.get("value", "")
        for node in page.find_all("input", type="hidden")
        if node.get("name")
    }
    data[by_label(page, "Old password").get("name")] = old
    data[by_label(page, "New password").get("name")] = new
    data[by_label(page, "New password confirmation").get("name")] = confirmation or new
    return client.post(PAGE, data, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return not client.get("/")["Location"].startswith("/accounts/login/")


def field_error(page, label) -> str:
    """The error a screen reader reads with the field: the text its aria-describedby names."""
    field = by_label(page, label)
    assert field.get("aria-invalid") == "true"
    return " ".join(page.by_id(i).visible_text for i in field.get("aria-describedby").split())


def assert_nothing_typed_comes_back(response, *typed):
    html = response.content.decode()
    assert not [n for n in parse(html).find_all("input", type="password") if n.get("value")]
    for text in typed:
        assert text not in html


def test_the_page_header_links_to_change_password(client, alice):
    client.force_login(alice)
    page = parse(client.get("/", follow=True).content.decode())
    link = by_role(page, "link", "Change password")

    form_page = parse(client.get(link.get("href")).content.decode())
    main = by_role(form_page, "main")
    assert by_role(main, "heading", "Change password")
    assert by_role(main, "button", "Change password")
    for label in ("Old password", "New password", "New password confirmation"):
        assert by_label(main, label).get("type") == "password"


def test_changing_keeps_this_browser_in_and_ends_other_sessions(client, alice):
    client.login(username="alice", password="alice-pw-123")
    elsewhere = Client()
    elsewhere.login(username="alice", password="alice-pw-123")
    assert signed_in(elsewhere)

    response = fill_in(client, "alice-pw-123", NEW)

    assert response.status_code == 302
    assert response["Location"] == "/"
    landed = parse(client.get("/", follow=True).content.decode())
    # Told politely (a status), not as an error (an alert).
    notices = [n.visible_text for n in all_by_role(landed, "status")]
    assert any("password has been changed" in notice for notice in notices), notices
    assert not any(
        "password has been changed" in a.visible_text for a in all_by_role(landed, "alert")
    )
    assert signed_in(client)
    assert not signed_in(elsewhere)
    alice.refresh_from_db()
    assert alice.check_password(NEW)
    assert Client().login(username="alice", password=NEW)


def test_a_wrong_old_password_is_refused_at_its_field(client, alice):
    client.force_login(alice)
    response = fill_in(client, "not-my-password", NEW)

    assert response.status_code == 200
    page = parse(response.content.decode())
    assert "old password was entered incorrectly" in field_error(page, "Old password")
    assert_nothing_typed_comes_back(response, "not-my-password", NEW)
    alice.refresh_from_db()
    assert alice.check_password("alice-pw-123")


def test_new_passwords_that_differ_are_refused(client, alice):
    client.force_login(alice)
    response = fill_in(client, "alice-pw-123", NEW, "a fresh pass phrase 43")

    assert response.status_code == 200
    page = parse(response.content.decode())
    assert "didn’t match" in field_error(page, "New password confirmation")
    assert_nothing_typed_comes_back(response, "alice-pw-123", NEW, "a fresh pass phrase 43")
    alice.refresh_from_db()
    assert alice.check_password("alice-pw-123")


@pytest.mark.parametrize(
    ("weak", "error"),
    [("Qz7#x", "too short"), ("password123", "too common"), ("31415926535", "entirely numeric")],
)
def test_a_weak_new_password_is_refused_with_the_reason(client, alice, weak, error):
    client.force_login(alice)
    response = fill_in(client, "alice-pw-123", weak)

    assert response.status_code == 200
    page = parse(response.content.decode())
    assert error in field_error(page, "New password confirmation")
    assert_nothing_typed_comes_back(response, "alice-pw-123", weak)
    alice.refresh_from_db()
    assert alice.check_password("alice-pw-123")


def test_anonymous_visitors_are_sent_to_log_in_first(client, alice):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PAGE}"
    response = client.post(PAGE, {"old_password": "x", "new_password1": NEW, "new_password2": NEW})
    assert response["Location"].startswith("/accounts/login/")

    client.post(response["Location"], {"username": "alice", "password": "alice-pw-123"})
    assert by_role(parse(client.get(PAGE).content.decode()), "heading", "Change password")


def test_a_change_needs_a_post_with_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    data = {"old_password": "alice-pw-123", "new_password1": NEW, "new_password2": NEW}
    assert client.get(PAGE, data).status_code == 200
    assert client.post(PAGE, data).status_code == 403
    alice.refresh_from_db()
    assert alice.check_password("alice-pw-123")


def test_old_password_guesses_are_limited_and_shared_with_the_login_form(client, alice, throttle):
    """Whoever finds a member's browser signed in gets no more guesses here than at login."""
    client.force_login(alice)
    statuses = [fill_in(client, f"guess-{n}", NEW).status_code for n in range(3)]
    assert statuses == [200, 200, 429]

    # Locked: even the right password is not checked, so the answer tells nothing.
    response = fill_in(client, "alice-pw-123", NEW)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many wrong passwords" in by_role(parse(response.content.decode()), "alert").text
    alice.refresh_from_db()
    assert alice.check_password("alice-pw-123")

    # The same count as the login form's, for this name and address.
    login = Client().post(
        "/accounts/login/",
        {"username": "alice", "password": "alice-pw-123"},
        REMOTE_ADDR="203.0.113.5",
    )
    assert login.status_code == 429


def test_failed_logins_lock_the_page_too(client, alice, throttle):
    for _ in range(3):
        Client().post(
            "/accounts/login/",
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="203.0.113.5",
        )
    client.force_login(alice)
    assert fill_in(client, "alice-pw-123", NEW).status_code == 429


def test_a_change_forgets_earlier_typos(client, alice, throttle):
    client.force_login(alice)
    for n in range(2):
        fill_in(client, f"typo-{n}", NEW)
    assert fill_in(client, "alice-pw-123", NEW).status_code == 302
    assert [fill_in(client, f"typo-{n}", "another phrase 42").status_code for n in range(2)] == [
        200,
        200,
    ]
