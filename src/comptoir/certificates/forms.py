"""Forms of the certificate pages: the wizard's step 1 (name, description, purpose, key holder),
the upload of step 2, the search (sent with GET) and revocation. They check the shape of the
input; comptoir.certificates.registrations decides the rest and says why it refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.certificates.models import Certificate
from comptoir.certificates.registrations import (
    DESCRIPTION_MAX,
    NAME_MAX,
    REASON_MAX,
    UPLOAD_MAX_BYTES,
    CertificateSearch,
)

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"]

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


class _Radios(forms.RadioSelect):
    """The error summary links to the first radio (Django gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


def _date_input() -> forms.DateInput:
    return forms.DateInput(
        format="%Y-%m-%d", attrs={"type": "date", "class": "input input--width-10"}
    )


def _date_filter(label: StrPromise) -> forms.DateField:
    """An optional date of the search form (ISO, like the other date fields)."""
    return forms.DateField(
        label=label,
        required=False,
        input_formats=DATE_FORMATS,
        widget=_date_input(),
        error_messages={"invalid": _("Enter a real date, like 2027-01-31.")},
    )


class StartForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the certificate"),
        help_text=_("A name your colleagues will recognise, for example “ICS2 seal 2027”."),
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"class": "input", "autocomplete": "off"}),
        error_messages={
            "required": _("Enter a name for the certificate, for example “ICS2 seal 2027”."),
            "max_length": _("Enter a name of 200 characters or fewer."),
        },
    )
    description = forms.CharField(
        label=_("Description"),
        help_text=_("What the certificate is used for, for example which system seals with it."),
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"class": "textarea", "rows": 4}),
        error_messages={"max_length": _("Enter a description of 2000 characters or fewer.")},
    )
    purpose = forms.ChoiceField(
        label=_("What is the certificate for?"),
        choices=Certificate.Purpose.choices,
        widget=_Radios,
        help_text=_(
            "An electronic seal is issued to the company and seals its B2G messages (ICS2). An "
            "electronic signature is issued to a person."
        ),
        error_messages={
            "required": _(
                "Choose what the certificate is for: an electronic signature or an electronic seal."
            ),
            "invalid_choice": _(
                "Choose what the certificate is for: an electronic signature or an electronic seal."
            ),
        },
    )
    key_holder = forms.TypedChoiceField(
        label=_("Do you hold the certificate's private key?"),
        choices=[
            ("yes", _("Yes: I will sign the registration document with this certificate")),
            ("no", _("No: I will upload the certificate and sign with my own certificate")),
        ],
        coerce=lambda value: value == "yes",
        widget=_Radios,
        error_messages={
            "required": _("Say whether you hold the certificate's private key (yes or no)."),
            "invalid_choice": _("Say whether you hold the certificate's private key (yes or no)."),
        },
    )


class _File(forms.FileField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "error_messages",
            {
                "required": _("Select the signed registration document."),
                "empty": _("The selected file is empty."),
                "invalid": _("Select a file."),
            },
        )
        super().__init__(**kwargs)


def _size_check(upload: Any) -> Any:
    if upload is not None and upload.size > UPLOAD_MAX_BYTES:
        raise forms.ValidationError(
            _("The file is larger than %(size)s MB.") % {"size": UPLOAD_MAX_BYTES // (1024 * 1024)},
            code="too_large",
        )
    return upload


class UploadForm(forms.Form):
    signed = _File(
        label=_("The signed registration document (PDF)"),
        help_text=_(
            "The PDF you signed. If you made a detached signature (.p7s), choose here the PDF "
            "exactly as you downloaded it and the signature below."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )
    detached_signature = _File(
        label=_("Detached signature (CAdES)"),
        help_text=_("Only if you signed with a separate signature file (.p7s or .p7m)."),
        required=False,
    )
    uploaded_certificate = _File(
        label=_("The certificate you register (PEM or DER)"),
        help_text=_("The .cer, .crt or .pem file of the certificate, without its private key."),
        required=True,
        error_messages={
            "required": _("Select the file of the certificate you register (PEM or DER)."),
            "empty": _("The selected file is empty."),
            "invalid": _("Select a file."),
        },
    )

    def __init__(self, *args: Any, key_holder: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if key_holder:
            del self.fields["uploaded_certificate"]

    def clean_signed(self) -> Any:
        return _size_check(self.cleaned_data.get("signed"))

    def clean_detached_signature(self) -> Any:
        return _size_check(self.cleaned_data.get("detached_signature"))

    def clean_uploaded_certificate(self) -> Any:
        return _size_check(self.cleaned_data.get("uploaded_certificate"))


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, serial number, subject or issuer"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "input", "type": "search"}),
        error_messages={"max_length": _("Enter 200 characters or fewer.")},
    )
    serial = forms.CharField(
        label=_("Serial number"),
        required=False,
        max_length=128,
        widget=forms.TextInput(attrs={"class": "input", "spellcheck": "false"}),
        error_messages={"max_length": _("Enter a serial number of 128 characters or fewer.")},
    )
    subject = forms.CharField(
        label=_("Subject"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "input"}),
        error_messages={"max_length": _("Enter 200 characters or fewer.")},
    )
    issuer = forms.CharField(
        label=_("Issuer"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "input"}),
        error_messages={"max_length": _("Enter 200 characters or fewer.")},
    )
    valid_from_after = _date_filter(_("Valid from, on or after"))
    valid_from_before = _date_filter(_("Valid from, on or before"))
    valid_until_after = _date_filter(_("Valid until, on or after"))
    valid_until_before = _date_filter(_("Valid until, on or before"))
    type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[
            ("", _("Qualified or not")),
            ("qualified", _("Qualified")),
            ("non_qualified", _("Not qualified")),
        ],
        error_messages={"invalid_choice": _("Choose qualified or not qualified.")},
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        required=False,
        choices=[("", _("Any purpose")), *Certificate.Purpose.choices],
        error_messages={"invalid_choice": _("Choose electronic signature or electronic seal.")},
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Certificate.Status.choices],
        error_messages={"invalid_choice": _("Choose one of the statuses listed.")},
    )

    def search(self) -> CertificateSearch:
        """The criteria (none when the form is not valid: the page shows the errors)."""
        if not self.is_valid():
            return CertificateSearch()
        data = self.cleaned_data
        return CertificateSearch(
            text=data.get("q") or "",
            serial=data.get("serial") or "",
            subject=data.get("subject") or "",
            issuer=data.get("issuer") or "",
            valid_from_after=data.get("valid_from_after"),
            valid_from_before=data.get("valid_from_before"),
            valid_until_after=data.get("valid_until_after"),
            valid_until_before=data.get("valid_until_before"),
            type=data.get("type") or "",
            purpose=data.get("purpose") or "",
            status=data.get("status") or "",
        )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you revoke the certificate?"),
        help_text=_(
            "For example: the private key may have been compromised, or the certificate was "
            "replaced. The company's legal representative and managers will read it."
        ),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"class": "textarea", "rows": 4}),
        error_messages={
            "required": _("Enter the reason for revoking the certificate."),
            "max_length": _("Enter a reason of 2000 characters or fewer."),
        },
    )
