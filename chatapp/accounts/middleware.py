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
