from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from .forms import FirstAdminForm
from .models import User


@login_not_required
def first_run_setup(request):
    """Create the first (admin) account; once anyone exists this page is gone."""
    if User.objects.exists():
        raise Http404
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            # Two people racing the set-up page: only the first may win.
            if User.objects.select_for_update().exists():
                raise Http404
            user = form.save()
        login(request, user)
        return redirect("home")
    return TemplateResponse(request, "accounts/setup.html", {"form": form})
