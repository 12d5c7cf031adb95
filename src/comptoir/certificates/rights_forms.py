"""The question page where an operator asks customs for access to certificate registration. The
form checks the shape of the input; comptoir.certificates.rights decides the rest and says why
it refuses."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.certificates.models import RegistrationRight
from comptoir.certificates.rights import ACCOUNT_NAME_MAX

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"]


class _Radios(forms.RadioSelect):
    """The error summary links to the first radio (Django gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class AccessRequestForm(forms.Form):
    account_name = forms.CharField(
        label=_("Account name"),
        help_text=_(
            "The account that will register certificates for your company. Your own user name "
            "is suggested; you can give another one."
        ),
        max_length=ACCOUNT_NAME_MAX,
        widget=forms.TextInput(
            attrs={
                "class": "input",
                "autocomplete": "username",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
        error_messages={
            "required": _("Enter the name of the account that will register certificates."),
            "max_length": _("Enter an account name of %(limit_value)d characters or fewer."),
        },
    )
    wanted_on = forms.DateField(
        label=_("From which date do you want access?"),
        help_text=_("Today or later, for example 2027-01-31."),
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(
            format="%Y-%m-%d", attrs={"type": "date", "class": "input input--width-10"}
        ),
        error_messages={
            "required": _("Enter the date from which you want to register certificates."),
            "invalid": _(
                "Enter the date from which you want access as a real date, like 2027-01-31."
            ),
        },
    )
    environment = forms.ChoiceField(
        label=_("Which environment?"),
        choices=RegistrationRight.Environment.choices,
        widget=_Radios,
        help_text=_(
            "Production: certificates that seal the messages your company really sends to "
            "customs. Conformance testing: certificates for testing your systems with customs "
            "before going live. Ask twice for both."
        ),
        error_messages={
            "required": _("Choose the environment: production or conformance testing."),
            "invalid_choice": _("Choose the environment: production or conformance testing."),
        },
    )

    def clean_account_name(self) -> str:
        return str(self.cleaned_data["account_name"]).strip()
