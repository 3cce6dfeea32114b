from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from chatapp.accounts.views import first_run_setup

urlpatterns = [
    path("setup/", first_run_setup, name="first_run_setup"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("chatapp.chat.urls")),
]
