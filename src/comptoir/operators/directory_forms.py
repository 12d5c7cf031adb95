"""Forms of the operator directory: the search (sent with GET) and creating an operator that is
not found. They check the shape of the input; operators.directory decides the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from comptoir.core.identifiers import eori_validate
from comptoir.operators.directory import directory_catalogue
from comptoir.operators.models import Position


class _Radios(forms.RadioSelect):
    """The error summary links to the first radio (Django gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


def _country_field(label: Any) -> forms.RegexField:
    return forms.RegexField(
        label=label,
        help_text=_("The two-letter country code (ISO 3166), for example FR."),
        regex=r"^[A-Za-z]{2}\Z",
        strip=True,
        widget=forms.TextInput(attrs={"class": "input input--width-2", "autocomplete": "off"}),
        error_messages={
            "required": _("Enter the country as a two-letter code, for example FR."),
            "invalid": _("Enter a two-letter country code (ISO 3166), for example FR."),
        },
    )


class DirectorySearchForm(forms.Form):
    country = _country_field(_("Country"))
    name = forms.CharField(
        label=_("Operator name"),
        help_text=_("The whole name or part of it. Capitals and accents do not matter."),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "input", "type": "search"}),
        error_messages={"max_length": _("Enter a name of 200 characters or fewer.")},
    )
    eori = forms.CharField(
        label=_("EORI number"),
        help_text=_("The whole number, for example FR123456782."),
        required=False,
        widget=forms.TextInput(
            attrs={"class": "input", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    section = forms.ChoiceField(label=_("Section"), required=False)
    activity_type = forms.ChoiceField(label=_("Activity type"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = (get_language() or "en")[:2]
        catalogue = directory_catalogue()
        section = self.fields["section"]
        activity_type = self.fields["activity_type"]
        assert isinstance(section, forms.ChoiceField)
        assert isinstance(activity_type, forms.ChoiceField)
        section.choices = [("", _("All sections"))] + [
            (item.code, item.label_in(language)) for item in catalogue
        ]
        activity_type.choices = [("", _("All activity types"))] + [
            (
                item.label_in(language),
                [(kind.code, kind.label_in(language)) for kind in item.activity_types.all()],
            )
            for item in catalogue
            if item.activity_types.all()
        ]
        #: The sections each activity type code belongs to.
        self.sections_of: dict[str, set[str]] = {}
        for item in catalogue:
            for kind in item.activity_types.all():
                self.sections_of.setdefault(kind.code, set()).add(item.code)

    def clean_country(self) -> str:
        return str(self.cleaned_data["country"]).upper()

    def clean_eori(self) -> str:
        value = self.cleaned_data["eori"]
        if not value:
            return ""
        return eori_validate(value=value)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        section, activity_type = cleaned.get("section"), cleaned.get("activity_type")
        if section and activity_type and section not in self.sections_of.get(activity_type, set()):
            self.add_error(
                "activity_type",
                _("This activity type is not in the section you chose: choose another one."),
            )
        return cleaned


class DirectoryCreateForm(forms.Form):
    """A new operator and the role the person asks for there. The rules that depend on several
    fields (EORI number in the EU, one way to contact the operator, both coordinates) are
    checked by operators.directory with the same messages in the pages and the API."""

    name = forms.CharField(
        label=_("Operator name"),
        max_length=200,
        error_messages={
            "required": _("Enter the operator's name."),
            "max_length": _("Enter a name of 200 characters or fewer."),
        },
    )
    country = _country_field(_("Country"))
    region = forms.CharField(
        label=_("Region"),
        required=False,
        max_length=100,
        error_messages={"max_length": _("Enter a region of 100 characters or fewer.")},
    )
    city = forms.CharField(
        label=_("Town or city"),
        max_length=100,
        error_messages={
            "required": _("Enter the operator's town or city."),
            "max_length": _("Enter a town or city of 100 characters or fewer."),
        },
    )
    address_line1 = forms.CharField(
        label=_("Address line 1"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
        error_messages={
            "required": _("Enter the first line of the operator's address."),
            "max_length": _("Enter an address line of 200 characters or fewer."),
        },
    )
    address_line2 = forms.CharField(
        label=_("Address line 2"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
        error_messages={"max_length": _("Enter an address line of 200 characters or fewer.")},
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        required=False,
        max_length=20,
        widget=forms.TextInput(
            attrs={"class": "input input--width-10", "autocomplete": "postal-code"}
        ),
        error_messages={"max_length": _("Enter a postcode of 20 characters or fewer.")},
    )
    phone = forms.CharField(
        label=_("Phone number"),
        help_text=_("Give at least one way to contact the operator: phone, fax, email or website."),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel"}),
        error_messages={"max_length": _("Enter a phone number of 32 characters or fewer.")},
    )
    fax = forms.CharField(
        label=_("Fax number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel"}),
        error_messages={"max_length": _("Enter a fax number of 32 characters or fewer.")},
    )
    email = forms.CharField(
        label=_("Email address"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"spellcheck": "false"}),
        error_messages={"max_length": _("Enter an email address of 254 characters or fewer.")},
    )
    website = forms.CharField(
        label=_("Website"),
        required=False,
        max_length=200,
        error_messages={"max_length": _("Enter a website address of 200 characters or fewer.")},
    )
    latitude = forms.CharField(
        label=_("Latitude"),
        help_text=_("In decimal degrees, between -90 and 90, for example 48.8566."),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"class": "input input--width-10", "inputmode": "decimal"}),
    )
    longitude = forms.CharField(
        label=_("Longitude"),
        help_text=_("In decimal degrees, between -180 and 180, for example 2.3522."),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"class": "input input--width-10", "inputmode": "decimal"}),
    )
    eori = forms.CharField(
        label=_("EORI number"),
        help_text=_(
            "We ask for it to avoid duplicates. Every operator established in the EU has one; "
            "an operator outside the EU may have none."
        ),
        required=False,
        widget=forms.TextInput(
            attrs={"spellcheck": "false", "autocapitalize": "characters", "autocomplete": "off"}
        ),
    )
    national_id = forms.CharField(
        label=_("National identification number"),
        help_text=_("For an operator established outside the EU that has no EORI number."),
        required=False,
        max_length=40,
        error_messages={"max_length": _("Enter a number of 40 characters or fewer.")},
    )
    role = forms.ChoiceField(
        label=_("Which role do you ask for at this operator?"),
        choices=[
            (Position.Role.MANAGER, _("Manager: approves and manages the operator's staff")),
            (Position.Role.EMPLOYEE, _("Employee: works for the operator")),
        ],
        widget=_Radios,
        error_messages={
            "required": _("Choose the role you ask for: manager or employee."),
            "invalid_choice": _("Choose the role you ask for: manager or employee."),
        },
    )
    message = forms.CharField(
        label=_("Message to the people who validate your role"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": _("Enter a message of 1000 characters or fewer.")},
    )
    confirm_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)

    #: The fields that describe the operator (the others are about the role request).
    OPERATOR_FIELDS = (
        "name",
        "country",
        "region",
        "city",
        "address_line1",
        "address_line2",
        "postcode",
        "phone",
        "fax",
        "email",
        "website",
        "latitude",
        "longitude",
        "eori",
        "national_id",
    )

    def clean_country(self) -> str:
        return str(self.cleaned_data["country"]).upper()

    def details(self) -> dict[str, Any]:
        return {field: self.cleaned_data[field] for field in self.OPERATOR_FIELDS}

    def add_service_errors(self, exc: ValidationError) -> None:
        """The service's messages on their fields (those the form has), else on top."""
        if hasattr(exc, "error_dict"):
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        else:
            for message in exc.messages:
                self.add_error(None, message)
