"""First run creates the administrator; after that every page needs a login."""

import uuid
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from chatapp.chat.models import Conversation
from tests.chat.dom import by_label, by_role, parse

pytestmark = pytest.mark.django_db

User = get_user_model()

EVERY_PAGE = ["/", f"/c/{uuid.uuid4()}/", "/accounts/login/", "/admin/", "/no-such-page/"]


def form_data(root) -> dict:
    """The form's hidden fields, as the browser would post them."""
    return {
        node.get("name"): node.get("value", "")
        for node in root.find_all("input", type="hidden")
        if node.get("name")
    }


@pytest.mark.parametrize("path", EVERY_PAGE)
def test_with_no_users_every_page_leads_to_setup(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/setup/"


def test_setup_creates_the_administrator_and_logs_them_in(client):
    root = parse(client.get("/setup/").content.decode())
    assert by_role(root, "heading", "Welcome to chatapp")
    by_role(root, "button", "Create administrator account")
    data = form_data(root)
    data[by_label(root, "Username").get("name")] = "root"
    data[by_label(root, "Email address").get("name")] = "root@example.com"
    data[by_label(root, "Password").get("name")] = "a long pass phrase 42"
    data[by_label(root, "Password confirmation").get("name")] = "a long pass phrase 42"

    response = client.post("/setup/", data, follow=True)

    admin = User.objects.get()
    assert (admin.username, admin.is_superuser, admin.is_staff) == ("root", True, True)
    assert admin.check_password("a long pass phrase 42")
    assert response.status_code == 200
    landed = parse(response.content.decode())
    assert "Signed in as root" in landed.visible_text
    assert by_role(landed, "link", "Admin")
    assert Conversation.objects.filter(owner=admin).count() == 1

    # The set-up page is gone, for the administrator and for anyone else.
    assert client.get("/setup/").status_code == 404
    client.logout()
    assert client.get("/setup/").status_code == 404
    assert client.post("/setup/", data).status_code == 404
    assert User.objects.count() == 1
    assert client.get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("password", "confirmation", "error"),
    [
        ("a long pass phrase 42", "another phrase 42", "didn’t match"),
        ("12345678", "12345678", "too common"),
        ("short", "short", "too short"),
    ],
)
def test_setup_explains_a_bad_password(client, password, confirmation, error):
    response = client.post(
        "/setup/",
        {"username": "root", "password1": password, "password2": confirmation},
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not User.objects.exists()


def test_createsuperuser_noinput_works(monkeypatch, client):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "from the environment 7")
    call_command(
        "createsuperuser", interactive=False, username="ops", email="ops@example.com", verbosity=0
    )
    ops = User.objects.get(username="ops")
    assert ops.is_superuser and ops.is_staff
    assert ops.check_password("from the environment 7")
    # With a user in place, first-run is over.
    assert client.get("/setup/").status_code == 404
    assert client.get("/")["Location"] == "/accounts/login/?next=/"


@pytest.fixture
def conversation(alice):
    return Conversation.objects.create(owner=alice, model="o4-mini")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/"),
        ("get", "/c/{id}/"),
        ("get", "/c/{id}/older/?before=10"),
        ("post", "/c/{id}/settings/"),
        ("post", "/conversations/new/"),
        ("get", "/messages/1/version/"),
    ],
)
def test_every_page_requires_login(client, conversation, method, path):
    url = path.format(id=conversation.public_id)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert Conversation.objects.count() == 1


# What a page asks for in the background; after the login ends, the whole page
# goes to the login page, and back to the page after logging in.
HTMX_REQUESTS = {
    "an answer's version pager": ("get", "/messages/1/version/?step=-1"),
    "the earlier messages loader": ("get", "/c/{id}/older/?before=10"),
    "the settings form": ("post", "/c/{id}/settings/"),
    "the older conversations button": ("get", "/conversations/older/?before=x&id=y"),
}


@pytest.mark.parametrize(("method", "path"), HTMX_REQUESTS.values(), ids=HTMX_REQUESTS.keys())
def test_an_htmx_request_after_the_login_ended_sends_the_page_to_log_in(
    client, conversation, method, path
):
    page = conversation.get_absolute_url()
    response = getattr(client, method)(
        path.format(id=conversation.public_id),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{page}?from=sidebar",
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/accounts/login/?next={quote(page + '?from=sidebar')}"
    assert not response.content, "nothing for htmx to swap into the page"
    assert by_role(parse(client.get(response["HX-Redirect"]).content.decode()), "heading", "Log in")


def test_without_the_page_address_htmx_goes_back_to_what_it_asked_for(client, conversation):
    path = f"/c/{conversation.public_id}/older/?before=10"
    response = client.get(path, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == f"/accounts/login/?next={quote(path)}"


def test_log_in_and_out(client, alice, conversation):
    target = conversation.get_absolute_url()
    response = client.get(target, follow=True)
    root = parse(response.content.decode())
    assert response.redirect_chain == [(f"/accounts/login/?next={target}", 302)]
    assert by_role(root, "heading", "Log in")
    data = form_data(root)
    data[by_label(root, "Username").get("name")] = "alice"
    data[by_label(root, "Password").get("name")] = "alice-pw-123"

    response = client.post("/accounts/login/", data)
    assert response.status_code == 302
    assert response["Location"] == target
    page = parse(client.get(target).content.decode())
    assert "Signed in as alice" in page.visible_text

    logout = by_role(page, "button", "Log out")
    form = next(a for a in logout.ancestors() if a.tag == "form")
    response = client.post(form.get("action"))
    assert response["Location"] == "/accounts/login/"
    assert client.get(target)["Location"].startswith("/accounts/login/")


def test_a_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    alert = by_role(parse(response.content.decode()), "alert")
    assert "correct username and password" in alert.visible_text
    assert client.get("/")["Location"].startswith("/accounts/login/")
