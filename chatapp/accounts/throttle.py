"""Login throttling: failures per username and client address, counted in the cache.

Failures are counted from Django's ``user_login_failed`` signal, so every
login form that authenticates with the request (ours and the admin's) counts;
``throttle_login`` wraps those views to refuse a locked-out pair with 429
before its password is even checked. The change-password page (``views``)
counts a wrong old password here too, under the same keys.
"""

import functools
import math

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.template.response import TemplateResponse

from chatapp import ratelimit


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, which daphne's --proxy-headers sets from
    the proxy's X-Forwarded-For (the app is reachable only through the proxy)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def _username(request) -> str:
    return request.POST.get("username", "") if request.method == "POST" else ""


def describe_wait(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def throttled_response(request, seconds: float) -> TemplateResponse:
    form = AuthenticationForm(request, initial={"username": _username(request)})
    response = TemplateResponse(
        request,
        "registration/login.html",
        {
            "form": form,
            "next": request.POST.get("next") or request.GET.get("next", ""),
            "throttled": describe_wait(seconds),
        },
        status=429,
    )
    response["Retry-After"] = str(max(1, math.ceil(seconds)))
    return response


def throttle_login(view):
    """Refuse logins for a locked-out username/address pair (429, Retry-After)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            username, address = _username(request), client_address(request)
            wait = ratelimit.login_locked_for(username, address)
            if wait:
                return throttled_response(request, wait)
            response = view(request, *args, **kwargs)
            # The failure just made locked the pair out: say so now.
            wait = ratelimit.login_locked_for(username, address)
            if wait and not request.user.is_authenticated:
                return throttled_response(request, wait)
            return response
        return view(request, *args, **kwargs)

    return login_not_required(wrapper)


@receiver(user_login_failed, dispatch_uid="chatapp.accounts.count_login_failure")
def count_login_failure(sender, credentials, request=None, **kwargs):
    if request is None:  # authenticate() without a request: not a login form
        return
    username = credentials.get("username") or _username(request)
    ratelimit.record_login_failure(username, client_address(request))


@receiver(user_logged_in, dispatch_uid="chatapp.accounts.clear_login_failures")
def clear_login_failures(sender, request, user, **kwargs):
    if request is None:
        return
    username = _username(request) or user.get_username()
    ratelimit.clear_login_failures(username, client_address(request))
