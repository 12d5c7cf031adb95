"""The operator directory (TRACES NT style): search the operators by country, name, EORI number,
section and activity type, fast at a million operators, and create an operator that is not
found. Only operators' reads and writes live here; creating an operator together with the
requester's role request is comptoir.approvals.directory.operator_create_in_directory.

Name search compares words folded by comptoir.core.text.search_text (case and accents ignored)
with Operator.search_name:

- PostgreSQL: every word of three characters or more may be anywhere in the name
  (`search_name LIKE '%word%'`, "upon" finds "Dupont"); a word of one or two characters must
  start a word of the name. A GIN trigram index (pg_trgm with btree_gin, on country and
  search_name) answers both (migration 0006).
- SQLite: every word must start a word of the name ("dup" finds "Dupont", "upon" does not): an
  FTS5 table over country and search_name answers prefix queries (migration 0006).

Other databases: every word anywhere in the name, without an index. All keep only listed
operators (active, neither merged nor deleted) of the country asked and sort by name then id;
EORI numbers match whole (spaces and case ignored). Paging counts at most COUNT_CAP results.

Likely duplicates, before an operator is created: listed operators of the same country with the
same postcode (spaces and case ignored) and a similar name (names_look_alike: trigram similarity
of 0.5 or more, computed as pg_trgm does, or every word of the shorter name in the other one).
The same rule on every database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, CharField, F, Func, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.core.identifiers import EORI_COUNTRY_CODES, eori_normalise, eori_validate
from comptoir.core.text import search_text
from comptoir.operators import selectors as operator_selectors
from comptoir.operators.models import (
    ActivitySection,
    ActivityType,
    Operator,
    OperatorActivity,
)

#: The operators the directory lists.
LISTED = Q(status=Operator.Status.ACTIVE, merged_into__isnull=True, deleted_at__isnull=True)
#: Words of a name query taken into account (the others are ignored).
MAX_WORDS = 8
#: Results per page (the role request page takes at most 20 operators at once), and how many
#: results are counted at most (a page count beyond it would cost a count of a whole country;
#: the pages say "more than 1000: add a name").
PAGE_SIZE = 20
COUNT_CAP = 1000
#: SQLite: up to this many FTS matches in the country, fetch them and sort them; beyond, walk
#: the (country, name) index in name order and keep the rows that match (stops after a page).
SQLITE_FETCH_MATCHES_MAX = 2000
#: Likely duplicates: names at least this similar (trigram similarity, like pg_trgm's).
SIMILARITY_THRESHOLD = 0.5

_COUNTRY = re.compile(r"^[A-Z]{2}\Z")
_FTS_TABLE = "operators_operator_fts"


# --- Search ---------------------------------------------------------------------------------------


def directory_words(name: str) -> list[str]:
    """The words of a name query as they are compared: folded, each once, at most MAX_WORDS."""
    words: list[str] = []
    for word in search_text(name[:200]).split():
        if word not in words:
            words.append(word)
    return words[:MAX_WORDS]


def _sqlite_match(country: str, words: list[str]) -> str:
    # Words are [0-9a-z]+ (search_text) and the country [A-Z]{2}: nothing to escape.
    prefixes = " AND ".join(f'"{word}"*' for word in words)
    return f'country:"{country.lower()}" AND search_name:({prefixes})'


def _sqlite_match_count(match: str, limit: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT rowid FROM {_FTS_TABLE} "  # noqa: S608 - constant
            f"WHERE {_FTS_TABLE} MATCH %s LIMIT %s)",
            [match, limit],
        )
        return int(cursor.fetchone()[0])


def _name_filter(
    rows: QuerySet[Operator], country: str, words: list[str]
) -> tuple[QuerySet[Operator], QuerySet[Operator]]:
    """The rows whose name matches, twice: to read in name order, and to count (SQLite needs a
    different plan for each)."""
    vendor = connection.vendor
    if vendor == "sqlite":
        match = _sqlite_match(country, words)
        # Constant SQL; the match expression is a parameter.
        matches = RawSQL(  # noqa: S611
            f"SELECT rowid FROM {_FTS_TABLE} WHERE {_FTS_TABLE} MATCH %s",  # noqa: S608
            [match],
        )
        by_id = rows.filter(pk__in=matches)
        if _sqlite_match_count(match, SQLITE_FETCH_MATCHES_MAX + 1) <= SQLITE_FETCH_MATCHES_MAX:
            # Few matches: look each one up by id and sort them.
            return by_id, by_id
        # Many: the unary plus keeps SQLite from driving the query by id, so that it walks the
        # (country, name) index in name order and stops after a page. Counting stays driven
        # by id: it stops after COUNT_CAP rows, whatever their order.
        plus_id = Func(F("pk"), template="(+%(expressions)s)", output_field=BigIntegerField())
        in_order = rows.alias(directory_plus_id=plus_id).filter(directory_plus_id__in=matches)
        return in_order, by_id
    for word in words:
        if vendor == "postgresql" and len(word) < 3:
            # No trigram in one or two letters: match the start of a word (the trigram index
            # answers this regular expression, padding words with blanks).
            rows = rows.filter(search_name__regex=rf"(^| ){word}")
        elif vendor == "postgresql":
            rows = rows.filter(search_name__contains=word)
        else:
            rows = rows.filter(search_name__icontains=word)
    return rows, rows


def _postgresql_walk(rows: QuerySet[Operator], words: list[str]) -> QuerySet[Operator]:
    """The same filter as _name_filter's on PostgreSQL, on an expression that the trigram index
    does not answer: the planner walks the (country, name) index (which includes search_name,
    so that the filter is checked in the index alone) in name order."""
    unindexed = Func(F("search_name"), template="(%(expressions)s || '')", output_field=CharField())
    rows = rows.alias(directory_walk_name=unindexed)
    for word in words:
        if len(word) < 3:
            rows = rows.filter(directory_walk_name__regex=rf"(^| ){word}")
        else:
            rows = rows.filter(directory_walk_name__contains=word)
    return rows


def _search(
    *, country: str, name: str, eori: str, section: str, activity_type: str
) -> tuple[QuerySet[Operator], QuerySet[Operator], QuerySet[Operator] | None]:
    """(rows in name order, the same rows to count, the same rows by a walk of the name index
    in order (PostgreSQL name searches; else None))."""
    country = (country or "").strip().upper()
    if not _COUNTRY.match(country):
        return Operator.objects.none(), Operator.objects.none(), None
    rows = Operator.objects.filter(LISTED, country=country)
    if (eori or "").strip():
        rows = rows.filter(eori=eori_normalise(value=eori)).exclude(eori="")
    if section or activity_type:
        activities = OperatorActivity.objects.all()
        if section:
            activities = activities.filter(activity_type__section__code=section)
        if activity_type:
            activities = activities.filter(activity_type__code=activity_type)
        rows = rows.filter(pk__in=activities.values("operator_id"))
    countable = rows
    walk = None
    words = directory_words(name or "")
    if words:
        if connection.vendor == "postgresql":
            walk = _postgresql_walk(rows, words).order_by("name", "pk")
        rows, countable = _name_filter(rows, country, words)
    return rows.order_by("name", "pk"), countable, walk


def directory_search(
    *,
    country: str,
    name: str = "",
    eori: str = "",
    section: str = "",
    activity_type: str = "",
) -> QuerySet[Operator]:
    """The listed operators (active, neither merged nor deleted) of the country that match every
    criterion given, by name then id. `name` matches words (see the module's docstring), `eori`
    the whole EORI number (spaces and case ignored), `section` and `activity_type` the codes of
    the activity catalogue. An invalid country gives no result. Slice it for paging, or use
    directory_paginator(), which counts cheaply (at most COUNT_CAP rows)."""
    rows, _countable, _walk = _search(
        country=country, name=name, eori=eori, section=section, activity_type=activity_type
    )
    return rows


def _with_activities(ids: list[int]) -> list[Operator]:
    activities = OperatorActivity.objects.select_related("activity_type__section").order_by(
        "activity_type__section__ordering", "activity_type__ordering", "activity_type__code"
    )
    found = Operator.objects.prefetch_related(Prefetch("activities", queryset=activities)).in_bulk(
        ids
    )
    return [found[pk] for pk in ids if pk in found]


class DirectoryPaginator(Paginator):
    """Pages of directory results. Counts at most COUNT_CAP rows (`more` tells when there are
    more), and reads a page in two steps: the ids in order (PostgreSQL answers from the index
    alone), then those rows with their activities.

    `walk` (PostgreSQL): the same rows, read by walking the (country, name) index in name order
    and keeping those that match. Used when more than COUNT_CAP rows match: the words are common,
    so a page of matches comes after a short walk, whereas the trigram index would fetch and sort
    every match (the planner, which underestimates how many rows several words match together,
    tends to choose that)."""

    def __init__(
        self,
        object_list: QuerySet[Operator],
        per_page: int = PAGE_SIZE,
        countable: QuerySet[Operator] | None = None,
        walk: QuerySet[Operator] | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self.rows = object_list
        self.countable = object_list if countable is None else countable
        self.walk = walk

    @cached_property
    def _capped_count(self) -> int:
        # Without ORDER BY, the database stops after COUNT_CAP + 1 matches.
        return self.countable.order_by()[: COUNT_CAP + 1].count()

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return min(self._capped_count, COUNT_CAP)

    @property
    def more(self) -> bool:
        """True when more than COUNT_CAP operators match (only the first ones can be paged)."""
        return self._capped_count > COUNT_CAP

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows = self.walk if self.walk is not None and self.more else self.rows
        ids = list(rows.values_list("pk", flat=True)[bottom:top])
        return Page(_with_activities(ids), number, self)


def directory_paginator(
    *,
    country: str,
    name: str = "",
    eori: str = "",
    section: str = "",
    activity_type: str = "",
    per_page: int = PAGE_SIZE,
) -> DirectoryPaginator:
    """directory_search's results in pages, each operator with its activities."""
    rows, countable, walk = _search(
        country=country, name=name, eori=eori, section=section, activity_type=activity_type
    )
    return DirectoryPaginator(rows, per_page=per_page, countable=countable, walk=walk)


def directory_catalogue() -> list[ActivitySection]:
    """The activity sections with their active activity types, in catalogue order."""
    types = ActivityType.objects.filter(active=True).order_by("ordering", "code")
    return list(
        ActivitySection.objects.prefetch_related(Prefetch("activity_types", queryset=types))
        .order_by("ordering", "code")
        .all()
    )


# --- Likely duplicates -------------------------------------------------------------------------


def _trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams: each word padded with two blanks before and one after."""
    grams: set[str] = set()
    for word in search_text(text).split():
        padded = f"  {word} "
        grams.update(padded[index : index + 3] for index in range(len(padded) - 2))
    return grams


def name_similarity(first: str, second: str) -> float:
    """Trigram similarity of two names (shared trigrams / all trigrams), as pg_trgm computes
    it, on the folded names: 1.0 for the same name, 0.0 for nothing in common."""
    one, other = _trigrams(first), _trigrams(second)
    if not one or not other:
        return 0.0
    return len(one & other) / len(one | other)


def names_look_alike(first: str, second: str) -> bool:
    """Similar names: trigram similarity of SIMILARITY_THRESHOLD or more, or every word of the
    shorter name in the other ("Dupont" and "Transports Dupont SA")."""
    if name_similarity(first, second) >= SIMILARITY_THRESHOLD:
        return True
    one, other = set(search_text(first).split()), set(search_text(second).split())
    shorter, longer = sorted((one, other), key=len)
    return bool(shorter) and shorter <= longer


def _postcode_key(postcode: str) -> str:
    return re.sub(r"\s+", "", postcode or "").upper()


def _postcode_variants(typed: str) -> set[str]:
    """How a postcode may be stored: as typed, without spaces or with one space anywhere, in
    upper or lower case (so that the lookup uses the postcode index)."""
    key = _postcode_key(typed)
    forms = {key} | {f"{key[:cut]} {key[cut:]}" for cut in range(1, len(key))}
    return {typed.strip()} | forms | {form.lower() for form in forms}


def directory_likely_duplicates(
    *, country: str, postcode: str, name: str, limit: int = 10
) -> list[Operator]:
    """Listed operators of the country with the same postcode (spaces and case ignored) and a
    similar name (names_look_alike). The same rule on every database."""
    key = _postcode_key(postcode)
    if not key:
        return []
    candidates = Operator.objects.filter(
        LISTED,
        country=(country or "").strip().upper(),
        postcode__in=_postcode_variants(postcode or ""),
    ).order_by("name", "pk")[:200]
    return [
        operator
        for operator in candidates
        if _postcode_key(operator.postcode) == key and names_look_alike(name, operator.name)
    ][:limit]


# --- Creating an operator ------------------------------------------------------------------------


class EoriTaken(ValidationError):
    """An operator already holds this EORI number (whatever its status): it is named, and the
    person is sent there to request a role instead."""

    def __init__(self, operator: Operator) -> None:
        self.operator = operator
        super().__init__(
            {
                "eori": [
                    _(
                        "This EORI number belongs to an operator already in the directory: "
                        "%(name)s (%(country)s). Request a role there instead of creating it "
                        "again."
                    )
                    % {"name": operator.name, "country": operator.country}
                ]
            }
        )


class LikelyDuplicates(Exception):
    """Operators with the same postcode and a similar name exist: the person confirms that the
    new operator is another one (confirm_duplicate) or requests a role at one of these."""

    def __init__(self, operators: list[Operator]) -> None:
        self.operators = operators
        super().__init__(", ".join(str(operator) for operator in operators))


CONTACT_FIELDS = ("phone", "fax", "email", "website")
_PHONE = re.compile(r"\+?[0-9 ().-]{4,31}")
_PHONE_MESSAGES = {
    "phone": _(
        "Enter a phone number using only digits, spaces, brackets, dots, hyphens and a "
        "leading +, like +33 1 23 45 67 89."
    ),
    "fax": _(
        "Enter a fax number using only digits, spaces, brackets, dots, hyphens and a "
        "leading +, like +33 1 23 45 67 89."
    ),
}


def _text(value: object) -> str:
    return str(value or "").strip()


def _coordinate(
    value: object, *, field: str, limit: int, errors: dict[str, list[Any]]
) -> Decimal | None:
    if value is None or _text(value) == "":
        return None
    messages = {
        "latitude": _("Enter the latitude in decimal degrees, between -90 and 90, like 48.8566."),
        "longitude": _(
            "Enter the longitude in decimal degrees, between -180 and 180, like 2.3522."
        ),
    }
    try:
        number = Decimal(_text(value).replace(",", "."))
    except InvalidOperation:
        errors.setdefault(field, []).append(messages[field])
        return None
    if not number.is_finite() or abs(number) > limit:
        errors.setdefault(field, []).append(messages[field])
        return None
    return number.quantize(Decimal("0.000001"))


def _required(value: str, field: str, message: Any, errors: dict[str, list[Any]]) -> None:
    if not value:
        errors.setdefault(field, []).append(message)


def _check_details(details: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The operator's details cleaned, and the messages for those that are wrong or missing."""
    errors: dict[str, list[Any]] = {}
    clean: dict[str, Any] = {key: _text(details.get(key)) for key in _TEXT_FIELDS}
    clean["country"] = clean["country"].upper()
    _required(clean["name"], "name", _("Enter the operator's name."), errors)
    if not clean["country"]:
        errors["country"] = [_("Enter the operator's country as a two-letter code, like FR.")]
    elif not _COUNTRY.match(clean["country"]):
        errors["country"] = [_("Enter a two-letter country code (ISO 3166), like FR.")]
    _required(clean["city"], "city", _("Enter the operator's town or city."), errors)
    _required(
        clean["address_line1"],
        "address_line1",
        _("Enter the first line of the operator's address."),
        errors,
    )
    for field, limit in _MAX_LENGTHS.items():
        if len(clean[field]) > limit and field not in errors:
            errors[field] = [
                _("Enter %(limit)s characters or fewer.") % {"limit": limit},
            ]
    if not any(clean[field] for field in CONTACT_FIELDS):
        errors["phone"] = [
            _(
                "Enter at least one way to contact the operator: a phone number, a fax "
                "number, an email address or a website."
            )
        ]
    for field in ("phone", "fax"):
        if clean[field] and field not in errors and not _PHONE.fullmatch(clean[field]):
            errors[field] = [_PHONE_MESSAGES[field]]
    if clean["email"] and "email" not in errors:
        try:
            EmailValidator()(clean["email"])
        except ValidationError:
            errors["email"] = [
                _("Enter an email address in the correct format, like name@example.com.")
            ]
    if clean["website"] and "website" not in errors:
        if "://" not in clean["website"]:
            clean["website"] = f"https://{clean['website']}"
        try:
            URLValidator(schemes=["http", "https"])(clean["website"])
            if len(clean["website"]) > _MAX_LENGTHS["website"]:
                raise ValidationError("too long")
        except ValidationError:
            errors["website"] = [
                _("Enter a website address in the correct format, like www.example.com.")
            ]
    latitude = _coordinate(details.get("latitude"), field="latitude", limit=90, errors=errors)
    longitude = _coordinate(details.get("longitude"), field="longitude", limit=180, errors=errors)
    if (latitude is None) != (longitude is None) and not {"latitude", "longitude"} & set(errors):
        missing = "longitude" if longitude is None else "latitude"
        errors[missing] = [_("Enter both the latitude and the longitude, or neither of them.")]
    clean["latitude"], clean["longitude"] = latitude, longitude
    eu = clean["country"] in EORI_COUNTRY_CODES
    if clean["eori"]:
        try:
            clean["eori"] = eori_validate(value=clean["eori"])
        except ValidationError as exc:
            errors["eori"] = list(exc.messages)
    elif eu:
        errors["eori"] = [
            _(
                "Enter the operator's EORI number: every operator established in the EU has "
                "one, and it keeps the directory free of duplicates."
            )
        ]
    elif clean["country"] and "country" not in errors and not clean["national_id"]:
        errors["national_id"] = [
            _(
                "Enter the operator's EORI number or, if it has none, its national "
                "identification number."
            )
        ]
    return clean, errors


_MAX_LENGTHS = {
    "name": 200,
    "region": 100,
    "city": 100,
    "address_line1": 200,
    "address_line2": 200,
    "postcode": 20,
    "phone": 32,
    "fax": 32,
    "email": 254,
    "website": 200,
    "national_id": 40,
}
_TEXT_FIELDS = (*_MAX_LENGTHS, "country", "eori")


def operator_eori_holder(*, eori: str) -> Operator | None:
    """The operator that holds this (normalised) EORI number, whatever its status."""
    if not eori:
        return None
    return operator_selectors.operators_with_eori(eori).first()


@transaction.atomic
def operator_directory_create(
    *, actor: User, confirm_duplicate: bool = False, **details: Any
) -> Operator:
    """Create an active operator from the directory (nobody holds a position in it yet).

    Details: name, country, region, city, address_line1, address_line2, postcode, phone, fax,
    email, website, latitude, longitude, eori, national_id. Raises ValidationError (one message
    per field) for bad or missing details — an EU operator needs its EORI number, one outside
    the EU its EORI number or national identification number, every operator one way to
    contact it; EoriTaken when the EORI number is already held; LikelyDuplicates when listed
    operators with the same postcode have a similar name, unless `confirm_duplicate`."""
    unknown = set(details) - set(_TEXT_FIELDS) - {"latitude", "longitude"}
    if unknown:
        raise TypeError(f"unexpected details: {', '.join(sorted(unknown))}")
    clean, errors = _check_details(details)
    if errors:
        raise ValidationError(errors)
    holder = operator_eori_holder(eori=clean["eori"])
    if holder is not None:
        raise EoriTaken(holder)
    if not confirm_duplicate:
        duplicates = directory_likely_duplicates(
            country=clean["country"], postcode=clean["postcode"], name=clean["name"]
        )
        if duplicates:
            raise LikelyDuplicates(duplicates)
    operator = Operator(
        **clean, search_name=search_text(clean["name"])[:200], status=Operator.Status.ACTIVE
    )
    try:
        with transaction.atomic():
            operator.save(force_insert=True)
    except IntegrityError as exc:  # the same EORI number created a moment ago
        holder = operator_eori_holder(eori=clean["eori"])
        if holder is None:
            raise
        raise EoriTaken(holder) from exc
    audit_record(
        action="operator.created_in_directory",
        actor=actor,
        subject=operator,
        data={
            "eori": operator.eori,
            "national_id": operator.national_id,
            "country": operator.country,
            "postcode": operator.postcode,
            "confirmed_not_duplicate": bool(confirm_duplicate),
        },
    )
    return operator


@dataclass(frozen=True)
class ActivityLine:
    """One activity as the directory shows it."""

    section: str
    section_label: str
    code: str
    label: str
    identifier: str


def operator_activity_lines(*, operator: Operator, language: str) -> list[ActivityLine]:
    """The operator's activities with their identifiers, labelled in the language (uses the
    prefetched activities of DirectoryPaginator's pages)."""
    return [
        ActivityLine(
            section=activity.activity_type.section.code,
            section_label=activity.activity_type.section.label_in(language),
            code=activity.activity_type.code,
            label=activity.activity_type.label_in(language),
            identifier=activity.identifier,
        )
        for activity in operator.activities.all()
    ]
