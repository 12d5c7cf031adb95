"""The form to ask for a role at an operator chosen in the directory, or at an authority. It
checks the shape of the input; approvals.services.role_request_submit decides the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from comptoir.approvals.services import ROLE_MESSAGE_MAX
from comptoir.operators.models import Authority, Operator, Position

Role = Position.Role


class _Radios(forms.RadioSelect):
    """The error summary links to the first radio (Django gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class _AuthorityChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code}, {obj.country})"


class _OperatorChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        place = ", ".join(part for part in (obj.postcode, obj.city, obj.country) if part)
        return f"{obj.name} ({place})" if place else obj.name


class RoleRequestForm(forms.Form):
    """Operator mode (operators chosen in the directory): which of them, when several, and
    manager or employee. Authority mode: which authority, and officer or service desk. Both:
    an optional message, e-mail address and phone number for the people who decide."""

    message = forms.CharField(
        label=_("Message to the people who validate your role"),
        help_text=_("For example, your job and why you need this role."),
        required=False,
        max_length=ROLE_MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": _("Enter a message of %(limit_value)d characters or fewer."),
        },
    )
    email = forms.EmailField(
        label=_("Email address where they can reach you"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "invalid": _("Enter an email address in the correct format, like name@example.com."),
            "max_length": _("Enter an email address of 254 characters or fewer."),
        },
    )
    phone = forms.CharField(
        label=_("Phone number where they can reach you"),
        help_text=_("For example, +33 1 23 45 67 89."),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        validators=[
            RegexValidator(
                r"^\+?[0-9 ().-]{4,31}$",
                message=_(
                    "Enter a phone number using only digits, spaces, brackets, dots, hyphens "
                    "and a leading +, like +33 1 23 45 67 89."
                ),
            )
        ],
        error_messages={"max_length": _("Enter a phone number of 32 characters or fewer.")},
    )

    def __init__(
        self, *args: Any, operators: Sequence[Operator] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.operators = list(operators or [])
        head: dict[str, forms.Field] = {}
        if self.operators:
            head["operator"] = _OperatorChoice(
                label=_("Which operator do you work for?"),
                queryset=Operator.objects.filter(pk__in=[item.pk for item in self.operators]),
                empty_label=None,
                initial=self.operators[0].pk if len(self.operators) == 1 else None,
                widget=_Radios if len(self.operators) > 1 else forms.HiddenInput,
                error_messages={
                    "required": _("Choose the operator where you ask for a role."),
                    "invalid_choice": _("Choose the operator where you ask for a role."),
                },
            )
            head["role"] = forms.ChoiceField(
                label=_("Which role do you ask for?"),
                choices=[(Role.EMPLOYEE, Role.EMPLOYEE.label), (Role.MANAGER, Role.MANAGER.label)],
                widget=_Radios,
                error_messages={
                    "required": _("Choose the role you ask for: manager or employee."),
                    "invalid_choice": _("Choose the role you ask for: manager or employee."),
                },
            )
        else:
            head["authority"] = _AuthorityChoice(
                label=_("Which authority do you work for?"),
                queryset=Authority.objects.order_by("country", "name", "code"),
                empty_label=_("Choose an authority"),
                error_messages={
                    "required": _("Choose the authority where you ask for a role."),
                    "invalid_choice": _("Choose the authority where you ask for a role."),
                },
            )
            head["role"] = forms.ChoiceField(
                label=_("Which role do you ask for?"),
                choices=[
                    (Role.OFFICER, Role.OFFICER.label),
                    (Role.SERVICE_DESK, Role.SERVICE_DESK.label),
                ],
                widget=_Radios,
                error_messages={
                    "required": _("Choose the role you ask for: officer or service desk."),
                    "invalid_choice": _("Choose the role you ask for: officer or service desk."),
                },
            )
        # The organisation and the role first, then the optional message and contact.
        self.fields = {**head, **self.fields}
