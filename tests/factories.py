from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group

from comptoir.accounts import selectors, services
from comptoir.accounts.models import User

PASSWORD = "Str0ng-Passw0rd!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person_{n:04d}")
    first_name = "Ada"
    last_name = "Lovelace"
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    language = "en"

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save()

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)

    @factory.post_generation
    def accepted_terms(obj, create, extracted, **kwargs):
        terms = selectors.terms_current()
        if create and extracted is not False and terms is not None:
            services.terms_accept(user=obj, terms=terms, ip=None)

    @factory.post_generation
    def group(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.groups.add(Group.objects.get_or_create(name=extracted)[0])


def reauthenticate(client, password: str = PASSWORD) -> None:
    """Confirm the password again, as allauth asks before sensitive changes (e-mail, eID)."""
    response = client.post("/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content[:500]


def signup_data(**overrides: str | None) -> dict[str, str]:
    """A valid sign-up form; overrides replace fields, None removes one."""
    data = {
        "username": "ada_Lovelace-1815",
        "email": "ada@example.test",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "",
        "postal_address": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "accept_terms": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
