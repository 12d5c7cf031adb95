from __future__ import annotations

import re
import string

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

USERNAME_PATTERN = r"^[A-Za-z0-9_-]{8,20}$"

username_validator = RegexValidator(
    regex=USERNAME_PATTERN,
    message=gettext_lazy(
        "Enter a username of 8 to 20 characters, using only letters without accents, digits, "
        "hyphens (-) and underscores (_)."
    ),
    code="invalid_username",
)

USERNAME_VALIDATORS = [username_validator]

_CLASSES = {
    "uppercase": (
        lambda p: any(c.isupper() for c in p),
        gettext_lazy("Your password must contain at least one uppercase letter."),
        gettext_lazy("an uppercase letter"),
    ),
    "lowercase": (
        lambda p: any(c.islower() for c in p),
        gettext_lazy("Your password must contain at least one lowercase letter."),
        gettext_lazy("a lowercase letter"),
    ),
    "digit": (
        lambda p: any(c.isdigit() for c in p),
        gettext_lazy("Your password must contain at least one digit."),
        gettext_lazy("a digit"),
    ),
    "special": (
        lambda p: bool(re.search(r"[^A-Za-z0-9\s]", p)) or any(c in string.punctuation for c in p),
        gettext_lazy("Your password must contain at least one special character, like ! ? # or %."),
        gettext_lazy("a special character"),
    ),
}


class CharacterClassValidator:
    """Require character classes (uppercase, lowercase, digit, special) named in settings."""

    def __init__(self, require: list[str] | None = None) -> None:
        self.require = [name for name in (require or []) if name in _CLASSES]

    def validate(self, password: str, user: object = None) -> None:
        errors = [
            ValidationError(_CLASSES[name][1], code=f"password_no_{name}")
            for name in self.require
            if not _CLASSES[name][0](password)
        ]
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        parts = ", ".join(str(_CLASSES[name][2]) for name in self.require)
        return _("Your password must contain %(parts)s.") % {"parts": parts}
