"""Helpers for the forms of every app."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def form_add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """A service's refusal on the form: each message on its field when the form has that field,
    otherwise at the top of the form (the error summary shows both)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def code_input(*, width: int) -> forms.TextInput:
    """A text input for a code typed as printed (an EORI number, a country code): no spelling
    check, capitals on phone keyboards, no autofill; `width` in characters (the CSS classes)."""
    return forms.TextInput(
        attrs={
            "class": f"input input--width-{width}",
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
        }
    )
