"""Forms of the fallback procedure: report an outage, open a fallback or an exception, close
it. They check the input's shape; the services check the rest (and say why they refuse)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.continuity.services import (
    CLOSING_NOTE_MAX,
    CONTACT_OFFICE_MAX,
    DESCRIPTION_MAX,
    INSTRUCTIONS_MAX,
)


def _textarea(rows: int = 5) -> forms.Textarea:
    return forms.Textarea(attrs={"class": "textarea", "rows": rows})


class OutageReportForm(forms.Form):
    description = forms.CharField(
        label=_("What is not working?"),
        help_text=_(
            "For example: since 9:30 our system cannot send declarations, error 503 from the "
            "access point."
        ),
        max_length=DESCRIPTION_MAX,
        widget=_textarea(),
        error_messages={
            "required": _("Describe what is not working in your B2G system."),
            "max_length": _("Enter %(limit_value)d characters or fewer."),
        },
    )


class FallbackOpenForm(forms.Form):
    contact_office = forms.CharField(
        label=_("Customs office to contact"),
        help_text=_(
            "Its name and how to reach it, for example: Paris-Orly office, 01 23 45 67 89."
        ),
        max_length=CONTACT_OFFICE_MAX,
        widget=forms.TextInput(attrs={"class": "input"}),
        error_messages={
            "required": _("Enter the customs office operators should contact."),
            "max_length": _("Enter %(limit_value)d characters or fewer."),
        },
    )
    instructions = forms.CharField(
        label=_("Instructions for operators"),
        max_length=INSTRUCTIONS_MAX,
        widget=_textarea(6),
        error_messages={
            "required": _("Enter the instructions operators should follow."),
            "max_length": _("Enter %(limit_value)d characters or fewer."),
        },
    )
    description = forms.CharField(
        label=_("What is down"),
        help_text=_("Shown on the public status page."),
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=_textarea(3),
        error_messages={"max_length": _("Enter %(limit_value)d characters or fewer.")},
    )


class FallbackCloseForm(forms.Form):
    closing_note = forms.CharField(
        label=_("Closing note"),
        help_text=_("Shown on the public status page, for example what was repaired."),
        required=False,
        max_length=CLOSING_NOTE_MAX,
        widget=_textarea(3),
        error_messages={"max_length": _("Enter %(limit_value)d characters or fewer.")},
    )
