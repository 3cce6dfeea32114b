from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from chatapp.accounts.throttle import throttle_login
from chatapp.accounts.views import change_password, first_run_setup
from chatapp.observability import healthz, readyz

urlpatterns = [
    # Answered by HealthCheckMiddleware first; routed too so they resolve by name.
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("setup/", first_run_setup, name="first_run_setup"),
    path("accounts/login/", throttle_login(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", change_password, name="password_change"),
    # The admin's own login form, throttled like ours (before admin.site.urls).
    path("admin/login/", throttle_login(admin.site.login)),
    path("admin/", admin.site.urls),
    path("", include("chatapp.chat.urls")),
]

handler500 = "chatapp.observability.server_error"
