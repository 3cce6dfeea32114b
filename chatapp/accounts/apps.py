from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "chatapp.accounts"
    label = "accounts"

    def ready(self) -> None:
        from . import throttle  # noqa: F401  (connects the login throttle's signal receivers)
