"""Forms for giving a mandate and for declining or ending one. They check the shape of the
input; comptoir.operators.mandates decides the rest and says why it refuses."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.core.forms import code_input
from comptoir.operators.mandates import REASON_MAX
from comptoir.operators.models import Mandate

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"]


class _Radios(forms.RadioSelect):
    """The error summary links to the first radio (Django gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


def _date_input() -> forms.DateInput:
    # The browser's own date picker where there is one; typed dates work everywhere else.
    return forms.DateInput(
        format="%Y-%m-%d", attrs={"type": "date", "class": "input input--width-10"}
    )


class MandateForm(forms.Form):
    provider_eori = forms.CharField(
        label=_("EORI number of the service provider"),
        help_text=_(
            "The service provider must be registered on Comptoir. For example FR12345678901."
        ),
        max_length=40,
        widget=code_input(width=10),
        error_messages={
            "required": _("Enter the EORI number of the service provider."),
            "max_length": _("Enter an EORI number of 17 characters or fewer."),
        },
    )
    scope = forms.ChoiceField(
        label=_("What may the service provider do for your company?"),
        choices=Mandate.Scope.choices,
        widget=_Radios,
        help_text=_(
            "ICS2 filing: its certificates may seal B2G messages for your company, where the "
            "administration allows it. Portal actions: its people may act for your company in "
            "the portal. Give two mandates for both."
        ),
        error_messages={
            "required": _(
                "Choose what the service provider may do: ICS2 filing or portal actions."
            ),
            "invalid_choice": _(
                "Choose what the service provider may do: ICS2 filing or portal actions."
            ),
        },
    )
    valid_from = forms.DateField(
        label=_("Date the mandate starts"),
        help_text=_("Today or later, for example 2027-01-31."),
        input_formats=DATE_FORMATS,
        widget=_date_input(),
        error_messages={
            "required": _("Enter the date the mandate starts."),
            "invalid": _("Enter the date the mandate starts as a real date, like 2027-01-31."),
        },
    )
    valid_until = forms.DateField(
        label=_("Date the mandate ends"),
        help_text=_("The last day it is valid. Leave it empty for a mandate without an end date."),
        required=False,
        input_formats=DATE_FORMATS,
        widget=_date_input(),
        error_messages={
            "invalid": _("Enter the date the mandate ends as a real date, like 2027-12-31."),
        },
    )

    def clean_provider_eori(self) -> str:
        return str(self.cleaned_data["provider_eori"]).strip().upper().replace(" ", "")


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"class": "textarea", "rows": 4}),
        error_messages={
            "required": _(
                "Enter the reason for ending the mandate: the other company will read it."
            ),
            "max_length": _("Enter a reason of %(limit_value)d characters or fewer."),
        },
    )

    def __init__(self, *args: Any, required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reason"]
        field.required = required
        if required:
            field.help_text = _("The other company will read it.")
        else:
            field.label = _("Reason for declining")
            field.help_text = _("Optional. The company that proposed the mandate will read it.")
