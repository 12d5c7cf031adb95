"""Forms for inviting someone by e-mail and for attaching oneself to a company by its national
company number. They check the shape of the input; the services decide the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from comptoir.core.forms import code_input
from comptoir.operators import invitations
from comptoir.operators.models import Operator, Position


class _Radios(forms.RadioSelect):
    """The error summary links to the first radio (Django gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address of the person to invite"),
        help_text=_(
            "We will send the invitation link to this address. The person must accept it with "
            "an account that uses this address."
        ),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "required": _("Enter the email address of the person to invite."),
            "invalid": _("Enter an email address in the correct format, like name@example.com."),
            "max_length": _("Enter an email address of 254 characters or fewer."),
        },
    )
    role = forms.ChoiceField(
        label=_("Which role do you offer?"),
        choices=[
            (Position.Role.EMPLOYEE, Position.Role.EMPLOYEE.label),
            (Position.Role.MANAGER, Position.Role.MANAGER.label),
        ],
        initial=Position.Role.EMPLOYEE,
        widget=_Radios,
        help_text=_("Managers can approve staff and invite people too."),
        error_messages={
            "required": _("Choose the role to offer: manager or employee."),
            "invalid_choice": _("Choose the role to offer: manager or employee."),
        },
    )


class AttachForm(forms.Form):
    country = forms.CharField(
        label=_("Country where the company is registered"),
        help_text=_(
            "The two-letter country code, for example FR for France or BE for Belgium. "
            "Attaching by company number works for these two countries."
        ),
        max_length=10,
        widget=code_input(width=2),
        error_messages={
            "required": _("Enter the company's country as a two-letter code, for example FR."),
            "max_length": _("Enter a two-letter country code (ISO 3166), for example FR."),
        },
    )
    number = forms.CharField(
        label=_("Company number"),
        help_text=_(
            "France: the 9-digit SIREN number or the 14-digit SIRET number. Belgium: the "
            "10-digit enterprise number."
        ),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "required": _("Enter the company number."),
            "max_length": _("Enter a company number of 40 characters or fewer."),
        },
    )

    #: The operator found for the number (set by a valid form).
    operator: Operator | None = None
    #: True when the number is valid but no active company holds it: the page then links to
    #: the registration (the link cannot sit in the error summary, whose entries are links).
    not_found = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "country" not in data or "number" not in data:
            return data
        try:
            country, number = invitations.company_number_check(
                country=data["country"], number=data["number"]
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field, message)
            return data
        data["country"], data["number"] = country, number
        self.operator = invitations.operator_for_company_number(country=country, number=number)
        if self.operator is None:
            self.not_found = True
            self.add_error(
                "number",
                ValidationError(
                    _(
                        "No active company is registered on Comptoir with this company number. "
                        "Check the number, or register the company if you are its legal "
                        "representative."
                    ),
                    code="company_unknown",
                ),
            )
        return data
