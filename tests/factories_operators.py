"""Factories for operators, authorities and positions, and people who hold them."""

from __future__ import annotations

import factory
from django.utils import timezone
from stdnum import luhn

from comptoir.accounts.models import User
from comptoir.core.text import search_text
from comptoir.operators.models import Authority, Operator, Position
from tests.factories import UserFactory


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator

    # A valid French EORI: FR + a SIREN number with its Luhn check digit.
    eori = factory.Sequence(lambda n: f"FR{10000000 + n}{luhn.calc_check_digit(str(10000000 + n))}")
    name = factory.Sequence(lambda n: f"Transports Dupont {n}")
    search_name = factory.LazyAttribute(lambda o: search_text(o.name))
    country = "FR"
    city = "Paris"
    status = Operator.Status.ACTIVE


class AuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Authority

    code = factory.Sequence(lambda n: f"FR{n:06d}")
    name = factory.Sequence(lambda n: f"Bureau de douane {n}")
    country = "FR"
    kind = Authority.Kind.CUSTOMS_OFFICE


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    person = factory.SubFactory(UserFactory)
    role = Position.Role.EMPLOYEE
    status = Position.Status.VALID
    since = factory.LazyFunction(timezone.now)


def member(operator: Operator, role: str = Position.Role.EMPLOYEE, **user: object) -> User:
    """A person with a valid position of this role at the operator."""
    person = UserFactory(**user)
    PositionFactory(person=person, operator=operator, role=role)
    return person


def officer(authority: Authority, role: str = Position.Role.OFFICER, **user: object) -> User:
    """A person with a valid officer (or service desk) position at the authority."""
    person = UserFactory(**user)
    PositionFactory(person=person, authority=authority, role=role)
    return person
