"""Forms for registering an operator and asking to join one. They check the shape of the input;
the services decide the rest."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from comptoir.core.identifiers import EoriField
from comptoir.operators import selectors
from comptoir.operators.models import Operator, Position, country_validator


class _Checkboxes(forms.CheckboxSelectMultiple):
    """The error summary links to the first box (Django gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class _Radios(forms.RadioSelect):
    """The error summary links to the first radio (Django gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


def _eori_field() -> EoriField:
    return EoriField(
        label=_("EORI number"),
        help_text=_(
            "The country code followed by up to 15 letters or digits, for example FR123456782."
        ),
    )


class RegistrationEoriForm(forms.Form):
    eori = _eori_field()

    #: True when the number belongs to a company already registered: the page then links to
    #: the join page (the link cannot sit in the error summary, whose entries are links).
    eori_registered = False

    def clean_eori(self) -> str:
        eori = self.cleaned_data["eori"]
        if selectors.operator_eori_registered(eori=eori):
            self.eori_registered = True
            raise forms.ValidationError(
                _(
                    "A company with this EORI number is already registered or waiting for "
                    "approval. You cannot register it again: ask to join it instead."
                ),
                code="eori_registered",
            )
        return eori


class RegistrationOperationsForm(forms.Form):
    operations = forms.MultipleChoiceField(
        label=_("Which customs operations does the company need?"),
        help_text=_("Select all that apply."),
        widget=_Checkboxes,
        error_messages={
            "required": _("Select at least one customs operation."),
            "invalid_choice": _("Select customs operations from the list."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = (get_language() or "en")[:2]
        field = self.fields["operations"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [
            (operation.code, operation.label_in(language))
            for operation in selectors.operations_catalogue()
        ]


class RegistrationCompanyForm(forms.Form):
    name = forms.CharField(
        label=_("Company name"),
        max_length=200,
        error_messages={
            "required": _("Enter the company name."),
            "max_length": _("Enter a company name of 200 characters or fewer."),
        },
    )
    address_line1 = forms.CharField(
        label=_("Address line 1"),
        max_length=200,
        error_messages={
            "required": _("Enter the first line of the company's address."),
            "max_length": _("Enter an address line of 200 characters or fewer."),
        },
    )
    address_line2 = forms.CharField(
        label=_("Address line 2"),
        max_length=200,
        required=False,
        error_messages={"max_length": _("Enter an address line of 200 characters or fewer.")},
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"class": "input input--width-10", "autocomplete": "postal-code"}
        ),
        error_messages={
            "required": _("Enter the company's postcode."),
            "max_length": _("Enter a postcode of 20 characters or fewer."),
        },
    )
    city = forms.CharField(
        label=_("Town or city"),
        max_length=100,
        error_messages={
            "required": _("Enter the company's town or city."),
            "max_length": _("Enter a town or city of 100 characters or fewer."),
        },
    )
    country = forms.CharField(
        label=_("Country"),
        help_text=_("The two-letter country code (ISO 3166), for example FR."),
        max_length=2,
        widget=forms.TextInput(attrs={"class": "input input--width-2", "autocomplete": "off"}),
        error_messages={
            "required": _("Enter the company's country as a two-letter code, for example FR."),
            "max_length": _("Enter a two-letter country code (ISO 3166), for example FR."),
        },
    )
    phone = forms.CharField(
        label=_("Company phone number"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={
            "required": _("Enter the company's phone number."),
            "max_length": _("Enter a phone number of 32 characters or fewer."),
        },
    )
    email = forms.EmailField(
        label=_("Company email address"),
        max_length=254,
        error_messages={
            "required": _("Enter the company's email address."),
            "invalid": _("Enter an email address in the correct format, like name@example.com."),
        },
    )

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        country_validator(country)
        return country


class RegistrationDeclarationForm(forms.Form):
    """The legal representative's declaration and acceptance of the terms, on the last page."""

    accept_terms = forms.BooleanField(
        label=_(
            "I am the company's legal representative, the details above are correct, and I "
            "accept the terms of use on the company's behalf"
        ),
        error_messages={
            "required": _(
                "Confirm that you are the company's legal representative and accept the terms "
                "of use."
            )
        },
    )


class RegistrationContactForm(forms.Form):
    """How customs reach the legal representative about this registration."""

    contact_phone = forms.CharField(
        label=_("Your phone number"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={
            "required": _("Enter your phone number."),
            "max_length": _("Enter a phone number of 32 characters or fewer."),
        },
    )
    contact_email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        error_messages={
            "required": _("Enter your email address."),
            "invalid": _("Enter an email address in the correct format, like name@example.com."),
        },
    )


class JoinForm(forms.Form):
    eori = _eori_field()
    role = forms.ChoiceField(
        label=_("Which role do you ask for?"),
        choices=[
            (Position.Role.EMPLOYEE, Position.Role.EMPLOYEE.label),
            (Position.Role.MANAGER, Position.Role.MANAGER.label),
        ],
        initial=Position.Role.EMPLOYEE,
        widget=_Radios,
        error_messages={
            "required": _("Choose the role you ask for: manager or employee."),
            "invalid_choice": _("Choose the role you ask for: manager or employee."),
        },
    )

    operator: Operator | None = None

    def clean_eori(self) -> str:
        eori = self.cleaned_data["eori"]
        operator = selectors.operator_active_by_eori(eori=eori)
        if operator is None:
            raise forms.ValidationError(
                _(
                    "No active company is registered with this EORI number. Check the number, "
                    "or ask the company's legal representative to register the company first."
                ),
                code="eori_unknown",
            )
        self.operator = operator
        return eori


# --- Professional space -------------------------------------------------------------------------


class OperationChangeForm(forms.Form):
    """Operations to add (among those not held) and to remove (among those held)."""

    add = forms.MultipleChoiceField(
        label=_("Operations to add"),
        required=False,
        widget=_Checkboxes,
        error_messages={"invalid_choice": _("Select operations to add from the list.")},
    )
    remove = forms.MultipleChoiceField(
        label=_("Operations to remove"),
        required=False,
        widget=_Checkboxes,
        error_messages={"invalid_choice": _("Select operations to remove from the list.")},
    )

    def __init__(self, *args: Any, operator: Operator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = (get_language() or "en")[:2]
        held = {grant.operation.code for grant in selectors.operations_current(operator=operator)}
        catalogue = list(selectors.operations_catalogue())
        add = self.fields["add"]
        remove = self.fields["remove"]
        assert isinstance(add, forms.MultipleChoiceField)
        assert isinstance(remove, forms.MultipleChoiceField)
        add.choices = [
            (operation.code, operation.label_in(language))
            for operation in catalogue
            if operation.code not in held
        ]
        remove.choices = [
            (grant.operation.code, grant.operation.label_in(language))
            for grant in selectors.operations_current(operator=operator)
        ]
        # A group with nothing to choose is left out (the error summary must link to a box).
        for name in ("add", "remove"):
            if not self.fields[name].choices:  # type: ignore[attr-defined]
                del self.fields[name]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.fields and not self.errors and not data.get("add") and not data.get("remove"):
            field = next(iter(self.fields))
            self.add_error(field, _("Select at least one operation to add or remove."))
        return data


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("New role"),
        choices=[
            (Position.Role.MANAGER, Position.Role.MANAGER.label),
            (Position.Role.EMPLOYEE, Position.Role.EMPLOYEE.label),
        ],
        widget=_Radios,
        error_messages={
            "required": _("Choose the new role: manager or employee."),
            "invalid_choice": _("Choose the new role: manager or employee."),
        },
    )


def _person_name(person: Any) -> str:
    return person.get_full_name() or person.username


class TransferForm(forms.Form):
    to_person = forms.TypedChoiceField(
        label=_("Who will be the new legal representative?"),
        coerce=int,
        widget=_Radios,
        error_messages={
            "required": _("Choose the member who will be the new legal representative."),
            "invalid_choice": _("Choose the member who will be the new legal representative."),
        },
    )

    def __init__(self, *args: Any, candidates: Iterable[Position], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_person"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            (
                position.person_id,
                f"{_person_name(position.person)} ({position.get_role_display()})",
            )
            for position in candidates
        ]


class MergeForm(forms.Form):
    other_operator = forms.TypedChoiceField(
        label=_("Which space do you want to merge into this one?"),
        coerce=int,
        widget=_Radios,
        error_messages={
            "required": _("Choose the space to merge into this one."),
            "invalid_choice": _("Choose the space to merge into this one."),
        },
    )

    def __init__(self, *args: Any, candidates: Iterable[Operator], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["other_operator"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(operator.pk, str(operator)) for operator in candidates]
