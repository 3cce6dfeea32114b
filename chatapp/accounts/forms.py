from django.contrib.auth.forms import BaseUserCreationForm

from .models import User


class FirstAdminForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("username", "email")

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.is_staff = True
        user.is_superuser = True
        if commit:
            user.save()
        return user
