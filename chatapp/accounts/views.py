from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import connection, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.debug import sensitive_post_parameters

from .forms import FirstAdminForm
from .models import User


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
