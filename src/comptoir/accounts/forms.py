from __future__ import annotations

import re

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm as AllauthActivateTOTPForm
from allauth.mfa.totp.internal.auth import TOTP
from allauth.socialaccount.forms import SignupForm as AllauthSocialSignupForm
from django import forms
from django.core.validators import RegexValidator
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from comptoir.accounts import selectors, services
from comptoir.accounts.models import User
from comptoir.audit.services import audit_record

_USERNAME_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")
# One message per mistake, each restating the rule so that the person knows what to type.
USERNAME_ERRORS = {
    "min_length": _("Your username is too short: use 8 to 20 characters."),
    "max_length": _("Your username is too long: use 8 to 20 characters."),
    "space": _(
        "Your username cannot contain spaces: use 8 to 20 letters without accents, digits, "
        "hyphens (-) and underscores (_)."
    ),
    "characters": _(
        "Your username can only contain letters without accents, digits, hyphens (-) and "
        "underscores (_): use 8 to 20 of these characters."
    ),
}


def _terms_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=_("I have read and accept the terms of use"),
        required=True,
        error_messages={"required": _("Accept the terms of use to create your account.")},
    )


class _PersonDetailsMixin(forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        max_length=150,
        error_messages={"required": _("Enter your first name.")},
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        error_messages={"required": _("Enter your last name.")},
    )


class SignupForm(AllauthSignupForm):
    """Create an account: username, e-mail, name, optional phone and address, password, terms."""

    first_name = _PersonDetailsMixin.base_fields["first_name"]
    last_name = _PersonDetailsMixin.base_fields["last_name"]
    phone = forms.CharField(label=_("Phone number"), max_length=32, required=False)
    postal_address = forms.CharField(
        label=_("Postal address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    accept_terms = _terms_field()

    field_order = [
        "username",
        "email",
        "first_name",
        "last_name",
        "phone",
        "postal_address",
        "password1",
        "password2",
        "accept_terms",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].help_text = _(
            "8 to 20 characters: letters without accents, digits, hyphens (-) and underscores (_)."
        )
        self.fields["username"].error_messages["required"] = _("Enter a username.")
        self.fields["email"].error_messages["required"] = _("Enter your email address.")
        self.fields["password1"].error_messages["required"] = _("Enter a password.")
        if "password2" in self.fields:
            self.fields["password2"].error_messages["required"] = _("Enter your password again.")
        self.fields["accept_terms"].help_text = format_html(
            '<a href="{}">{}</a>', reverse("accounts:terms"), _("Read the terms of use")
        )
        self.fields["username"].error_messages.update(
            {
                "min_length": USERNAME_ERRORS["min_length"],
                "max_length": USERNAME_ERRORS["max_length"],
            }
        )
        self.fields["email"].label = _("Email address")
        self.fields["email"].error_messages["invalid"] = _(
            "Enter an email address in the correct format, like name@example.com."
        )
        for name in ("username", "email", "password1", "password2"):
            if name in self.fields:
                self.fields[name].widget.attrs.pop("placeholder", None)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if any(char.isspace() for char in username):
            raise forms.ValidationError(USERNAME_ERRORS["space"], code="username_space")
        if not _USERNAME_CHARACTERS.fullmatch(username):
            raise forms.ValidationError(USERNAME_ERRORS["characters"], code="username_characters")
        return super().clean_username()

    def try_save(self, request: HttpRequest):
        """Create the account, or (when the address already has one) send that person a notice
        instead; either way the next page says where the mail went, so it reveals nothing."""
        from comptoir.accounts.adapter import verification_email_remember

        verification_email_remember(request, self.cleaned_data.get("email", ""))
        return super().try_save(request)

    @transaction.atomic
    def save(self, request: HttpRequest) -> User:
        """The person, their e-mail address, the terms acceptance and the audit event commit
        together, or not at all."""
        return super().save(request)

    def custom_signup(self, request: HttpRequest, user: User) -> None:
        _complete_signup(request, user, self.cleaned_data)


class SocialSignupForm(AllauthSocialSignupForm):
    """First sign-in with an eID: complete the profile and accept the terms.

    The address counts as verified only when the provider asserted ``email_verified`` for exactly
    the address submitted; any other address gets a confirmation link."""

    first_name = _PersonDetailsMixin.base_fields["first_name"]
    last_name = _PersonDetailsMixin.base_fields["last_name"]
    accept_terms = _terms_field()

    field_order = ["first_name", "last_name", "username", "email", "accept_terms"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.sociallogin.user
        self.fields["first_name"].initial = user.first_name
        self.fields["last_name"].initial = user.last_name
        self.fields["username"].help_text = _(
            "8 to 20 characters: letters without accents, digits, hyphens (-) and underscores (_)."
        )
        self.fields["username"].error_messages.update(
            {
                "required": _("Enter a username."),
                "min_length": _("Your username must be at least 8 characters long."),
                "max_length": _("Your username must be 20 characters or fewer."),
            }
        )
        if "email" in self.fields:
            self.fields["email"].error_messages.update(
                {
                    "required": _("Enter your email address."),
                    "invalid": _(
                        "Enter an email address in the correct format, like name@example.com."
                    ),
                }
            )
            if self.provider_verified_emails:
                self.fields["email"].help_text = _(
                    "%(provider)s has confirmed this address. If you give another one, we will "
                    "send a confirmation link to it."
                ) % {"provider": self.sociallogin.provider.name}
            else:
                self.fields["email"].help_text = _(
                    "We will send a confirmation link to this address."
                )
        self.fields["accept_terms"].help_text = format_html(
            '<a href="{}">{}</a>', reverse("accounts:terms"), _("Read the terms of use")
        )
        for name in ("username", "email"):
            if name in self.fields:
                self.fields[name].widget.attrs.pop("placeholder", None)

    @property
    def provider_verified_emails(self) -> set[str]:
        return {a.email.lower() for a in self.sociallogin.email_addresses if a.email and a.verified}

    def try_save(self, request: HttpRequest):
        """As for the password sign-up: an address that already has an account gets a notice
        mailed to it instead, and the next page looks the same either way."""
        from comptoir.accounts.adapter import verification_email_remember

        verification_email_remember(request, self.cleaned_data.get("email", ""))
        return super().try_save(request)

    @transaction.atomic
    def save(self, request: HttpRequest) -> User:
        """The person, the eID link, the e-mail address, the terms acceptance and the audit
        events commit together, or not at all."""
        # Keep only what the provider said about the address actually chosen, so that another
        # address typed here is never taken as verified (nor the provider's one stored beside it).
        email = (self.cleaned_data.get("email") or "").lower()
        self.sociallogin.email_addresses = [
            a for a in self.sociallogin.email_addresses if a.email and a.email.lower() == email
        ]
        return super().save(request)

    def custom_signup(self, request: HttpRequest, user: User) -> None:
        provider = self.sociallogin.account.provider
        _complete_signup(request, user, self.cleaned_data, via=provider)
        audit_record(
            action="eid.linked",
            actor=user,
            subject=user,
            data={"provider": provider, "on": "signup"},
        )


def _complete_signup(request: HttpRequest, user: User, data: dict, via: str = "") -> None:
    from comptoir.core.middleware import client_ip

    user.first_name = data.get("first_name", user.first_name)
    user.last_name = data.get("last_name", user.last_name)
    user.phone = data.get("phone", "") or ""
    user.postal_address = data.get("postal_address", "") or ""
    user.language = getattr(request, "LANGUAGE_CODE", user.language) or user.language
    user.save()
    audit_record(
        action="account.created", actor=user, subject=user, data={"via": via or "password"}
    )
    terms = selectors.terms_current()
    if terms is not None and data.get("accept_terms"):
        services.terms_accept(user=user, terms=terms, ip=client_ip(request))


class ProfileForm(forms.Form):
    """A person's own details. A plain form (not a ModelForm) so that validating it never
    touches the signed-in user object: services.profile_update makes the change."""

    first_name = _PersonDetailsMixin.base_fields["first_name"]
    last_name = _PersonDetailsMixin.base_fields["last_name"]
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        required=False,
        help_text=_("For example, +33 1 23 45 67 89."),
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
    postal_address = forms.CharField(
        label=_("Postal address"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": _("Enter a postal address of 500 characters or fewer.")},
    )

    @classmethod
    def for_user(cls, user: User, data=None) -> ProfileForm:
        return cls(data, initial={name: getattr(user, name) for name in cls.base_fields})


class TermsAcceptForm(forms.Form):
    accept = forms.BooleanField(
        label=_("I have read and accept these terms of use"),
        error_messages={"required": _("Accept the terms of use to continue.")},
    )
    # The version shown on the page: accepting never covers a text the person did not see.
    version = forms.CharField(
        widget=forms.HiddenInput,
        max_length=20,
        error_messages={"required": _("Reload the page, read the terms of use and accept them.")},
    )


class ResendConfirmationForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        error_messages={
            "required": _("Enter the email address you used to create your account."),
            "invalid": _("Enter an email address in the correct format, like name@example.com."),
        },
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("For example, the name of the script or system that will use it."),
        error_messages={
            "required": _("Enter a name for the token."),
            "max_length": _("Enter a token name of 100 characters or fewer."),
        },
    )


class PersonSearchForm(forms.Form):
    q = forms.CharField(label=_("Username, name or email address"), max_length=150, required=False)


class LoginForm(AllauthLoginForm):
    """allauth's sign-in form with labels only: GOV.UK pages use no placeholders."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.pop("placeholder", None)
        self.fields["login"].error_messages["required"] = _("Enter your username.")
        self.fields["password"].error_messages["required"] = _("Enter your password.")


class ActivateTOTPForm(AllauthActivateTOTPForm):
    """Turning TOTP on spends the code typed: it cannot sign in again in the same period."""

    def clean_code(self) -> str:
        code = super().clean_code()
        TOTP(Authenticator(user_id=self.user.pk, type=Authenticator.Type.TOTP))._mark_code_used(
            code
        )
        return code
