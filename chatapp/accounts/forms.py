from django.contrib.auth.forms import BaseUserCreationForm, UsernameField

from .models import User


class FirstAdminForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("username", "email")
        # As Django's own Meta has it (ours replaces it): no capital letter
        # typed in by a phone, and a name password managers save.
        field_classes = {"username": UsernameField}

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.is_staff = True
        user.is_superuser = True
        if commit:
            user.save()
        return user
