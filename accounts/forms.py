from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError

from accounts import throttle
from accounts.models import User


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Used only to reset your password.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists.")
        return email


class ThrottledLoginMixin:
    """Refuses logins for a locked-out username + IP before any password is checked (throttle.py)."""

    def _throttled(self, seconds: int) -> ValidationError:
        self.lockout_seconds = seconds
        return ValidationError(throttle.lockout_message(seconds), code="throttled")

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = throttle.client_ip(self.request)
        if seconds := throttle.login_lockout_seconds(username=username, ip=ip):
            raise self._throttled(seconds)
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                throttle.login_failure_record(username=username, ip=ip)
                if seconds := throttle.login_lockout_seconds(username=username, ip=ip):
                    raise self._throttled(seconds) from error
            raise
        if self.get_user() is not None:
            throttle.login_success_record(username=username, ip=ip)
        return cleaned


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    lockout_seconds = 0


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    lockout_seconds = 0
