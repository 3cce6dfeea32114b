from importlib import import_module

from channels.auth import get_user
from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

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
        scope = {**scope, "session": session}
        # Channels' checks: a live session, a known backend, an active user,
        # the password unchanged since login (SECRET_KEY_FALLBACKS not consulted).
        scope["user"] = await get_user(scope)
        return await self.app(scope, receive, send)
