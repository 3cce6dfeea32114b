from dataclasses import dataclass
from importlib import import_module
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django_htmx.http import HttpResponseClientRedirect

from .models import User


class FirstRunMiddleware:
    """Until the first account exists, send every page to the set-up page.

    A fresh install has nobody who could log in, so the only useful page is
    the one that creates the administrator. Health probes are never redirected.
    """

    EXEMPT_PREFIXES = ("/static/", "/setup/", "/healthz", "/readyz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            not request.user.is_authenticated
            and not request.path.startswith(self.EXEMPT_PREFIXES)
            and not User.objects.exists()
        ):
            return redirect(reverse("first_run_setup"))
        return self.get_response(request)


class HtmxLoginRedirect:
    """Send an htmx request whose login has ended to the login page, as a whole page.

    Django answers it with a redirect to the login page, which htmx follows
    unseen and swaps into the element that asked: the whole login page inside
    an answer's version pager, the settings form or the older messages. An
    ``HX-Redirect`` has the browser load the login page instead, and come back
    to the page the member was on. Needs django-htmx's ``HtmxMiddleware``
    before it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.htmx and _is_login_redirect(response):
            page = request.htmx.current_url_abs_path or request.get_full_path()
            return HttpResponseClientRedirect(redirect_to_login(page).url)
        return response


def _is_login_redirect(response) -> bool:
    if response.status_code != 302:
        return False
    return urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)


class WebsocketUser:
    """ASGI middleware: a websocket's user, from its session cookie, read once as it opens.

    Channels' ``AuthMiddlewareStack`` does this too, and also wraps every frame
    the socket sends, to save a changed session on an HTTP response. A socket
    never changes its session, and with hundreds of answers streaming that
    check on every delta cost about 2 % of a process's CPU. Needs Channels'
    ``CookieMiddleware`` outside it.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        store = import_module(settings.SESSION_ENGINE).SessionStore
        session = store(scope["cookies"].get(settings.SESSION_COOKIE_NAME))
        user = await database_sync_to_async(_session_user)(session)
        scope = {**scope, "session": session, "user": user}
        return await self.app(scope, receive, send)


@dataclass(frozen=True)
class SocketLogin:
    """A socket's person and session key, to check again before each answer they start.

    The session may have ended since the socket opened (a log-out, a password
    change elsewhere), and an open tab went on starting answers, billed to the
    account, after its person had signed out. It also reads as ended when the
    session was renewed under a new key (a password change in this browser, a
    page after a key rotation): the socket still holds the old one, and a
    reload gives it the new.
    """

    user_id: int
    session_key: str | None

    @classmethod
    def of(cls, scope) -> "SocketLogin":
        return cls(scope["user"].pk, scope["session"].session_key)

    def still_valid(self) -> bool:
        """Whether the session still logs this person in (reads the database: sync)."""
        store = import_module(settings.SESSION_ENGINE).SessionStore
        return _session_user(store(self.session_key)).pk == self.user_id


def _session_user(session):
    """The session's user, checked as Django checks a page's, changing nothing.

    Channels' ``get_user`` ignores SECRET_KEY_FALLBACKS: while the secret key
    was being rotated, it refused every socket and deleted the session, so
    each open tab logged its person out. A socket cannot send a new cookie, so
    a session signed under an old key is left as it is; the next page renews it.
    """
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    user = load_backend(backend_path).get_user(user_id)
    session_hash = session.get(HASH_SESSION_KEY)
    if user is None or not session_hash:
        return AnonymousUser()
    # The password unchanged since login, under the current key or an old one.
    hashes = (user.get_session_auth_hash(), *user.get_session_auth_fallback_hash())
    if any(constant_time_compare(session_hash, known) for known in hashes):
        return user
    return AnonymousUser()
