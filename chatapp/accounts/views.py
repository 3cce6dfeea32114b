import math

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm
from django.db import connection, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from chatapp import ratelimit

from .forms import FirstAdminForm
from .models import User
from .throttle import client_address, describe_wait


@login_not_required
@sensitive_post_parameters("password1", "password2")
def first_run_setup(request):
    """Create the first (admin) account; once anyone exists this page is gone."""
    if User.objects.exists():
        raise Http404
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            # Two people racing the set-up page: only the first may win.
            _hold_back_other_setups()
            if User.objects.exists():
                raise Http404
            user = form.save()
        login(request, user)
        return redirect("home")
    return TemplateResponse(request, "accounts/setup.html", {"form": form})


def _hold_back_other_setups() -> None:
    """Make a set-up that starts now wait until this transaction ends.

    ``select_for_update()`` on no rows locks nothing on PostgreSQL: two
    set-ups at once both found no user and both made an administrator. A lock
    on the table that blocks inserts does hold the second back. SQLite's
    IMMEDIATE transactions already run one at a time.
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(User._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
def change_password(request):
    """A member changes their own password; this browser stays signed in, others end.

    The old password is a guess at the account's password like a login's, so
    a wrong one counts as a failed login for this name and address, and a
    locked-out pair is refused before its password is checked: the page gives
    no more guesses than the login form, and the two share one count.
    """
    name, address = request.user.get_username(), client_address(request)
    if request.method != "POST":
        return _password_page(request, PasswordChangeForm(request.user))
    if wait := ratelimit.login_locked_for(name, address):
        return _password_page(request, PasswordChangeForm(request.user), locked_for=wait)
    form = PasswordChangeForm(request.user, request.POST)
    if form.is_valid():
        form.save()
        # A new session hash: this browser stays in, every other session ends.
        update_session_auth_hash(request, form.user)
        ratelimit.clear_login_failures(name, address)
        messages.success(
            request,
            "Your password has been changed. You are still signed in here "
            "and signed out everywhere else.",
        )
        return redirect("home")
    wrong_old = form.has_error("old_password", "password_incorrect")
    if wrong_old and (wait := ratelimit.record_login_failure(name, address)):
        return _password_page(request, PasswordChangeForm(request.user), locked_for=wait)
    return _password_page(request, form)


def _password_page(request, form, locked_for: float = 0.0) -> TemplateResponse:
    context = {"form": form, "throttled": describe_wait(locked_for) if locked_for else ""}
    response = TemplateResponse(
        request, "accounts/password_change.html", context, status=429 if locked_for else 200
    )
    if locked_for:
        response["Retry-After"] = str(max(1, math.ceil(locked_for)))
    return response
