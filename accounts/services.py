from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.models import User


@transaction.atomic
def user_create(*, username: str, email: str, password: str, display_name: str = "") -> User:
    user = User(username=username, email=email.strip().lower(), display_name=display_name)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user
