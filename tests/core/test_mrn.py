"""MRN: the ISO 6346 check character against the published example and generated numbers, and a
specific message for each kind of mistake."""

from __future__ import annotations

import random
import string

import pytest
from django.core.exceptions import ValidationError

from comptoir.core.identifiers import (
    mrn_build,
    mrn_check_character,
    mrn_is_valid,
    mrn_validate,
)

PUBLISHED = "21GB00014210026352"


def _iso6346_by_hand(first17: str) -> str:
    """The rule written out independently of stdnum: letters take 10..38 skipping multiples of
    11, each value weighted by 2**position, sum modulo 11, 10 becomes 0."""
    values: dict[str, int] = {str(digit): digit for digit in range(10)}
    value = 10
    for letter in string.ascii_uppercase:
        if value % 11 == 0:
            value += 1
        values[letter] = value
        value += 1
    total = sum(values[char] * 2**position for position, char in enumerate(first17))
    return str(total % 11 % 10)


def test_published_example_is_valid_and_its_check_character_is_2():
    assert mrn_check_character(PUBLISHED[:17]) == "2"
    assert mrn_validate(PUBLISHED) == PUBLISHED
    assert mrn_validate(" 21gb 0001421002635 2 ") == PUBLISHED


@pytest.mark.parametrize("wrong", "013456789")
def test_published_example_with_another_check_character_is_refused(wrong):
    with pytest.raises(ValidationError) as caught:
        mrn_validate(PUBLISHED[:17] + wrong)
    assert caught.value.code == "mrn_check"
    assert not mrn_is_valid(PUBLISHED[:17] + wrong)


def test_letter_values_skip_multiples_of_eleven():
    # A = 10, K = 21 (22 skipped after U... spot checks of the table in ISO 6346).
    assert _iso6346_by_hand("A" + "0" * 16) == str(10 % 11 % 10)
    assert mrn_check_character("24LU" + "A" * 12 + "J") == _iso6346_by_hand("24LU" + "A" * 12 + "J")


def test_generated_mrns_are_valid_and_match_the_rule_written_by_hand():
    rng = random.Random(6346)
    alphabet = string.ascii_uppercase + string.digits
    for _ in range(500):
        year = rng.randrange(2000, 2100)
        country = "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
        serial = "".join(rng.choice(alphabet) for _ in range(12))
        procedure = rng.choice(string.ascii_uppercase)
        mrn = mrn_build(year=year, country=country, serial=serial, procedure=procedure)
        assert len(mrn) == 18
        assert mrn[:2] == f"{year % 100:02d}"
        assert mrn[2:4] == country and mrn[4:16] == serial and mrn[16] == procedure
        assert mrn[17] == _iso6346_by_hand(mrn[:17])
        assert mrn_validate(mrn) == mrn
        # Any single changed character of the first 17 is caught (ISO 6346 detects them).
        position = rng.randrange(4, 16)
        replacement = rng.choice([c for c in alphabet if c != mrn[position]])
        changed = mrn[:position] + replacement + mrn[position + 1 :]
        if _iso6346_by_hand(changed[:17]) != changed[17]:
            assert not mrn_is_valid(changed)


def test_build_pads_an_integer_serial_and_uses_two_digit_years():
    mrn = mrn_build(year=2026, country="lu", serial=42, procedure="j")
    assert mrn.startswith("26LU000000000042J")
    assert mrn_validate(mrn) == mrn


@pytest.mark.parametrize(
    "kwargs",
    [
        {"serial": -1},
        {"serial": 10**12},
        {"serial": "SHORT"},
        {"country": "L1"},
        {"procedure": "1"},
        {"procedure": "JJ"},
    ],
)
def test_build_refuses_parts_that_do_not_fit(kwargs):
    parts = {"year": 2026, "country": "LU", "serial": 1, "procedure": "J", **kwargs}
    with pytest.raises(ValueError):
        mrn_build(**parts)


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("", "mrn_empty", "Enter an MRN"),
        ("21GB0001421002635", "mrn_length", "18 characters"),
        ("21GB000142100263521", "mrn_length", "you entered 19"),
        ("2AGB00014210026352", "mrn_year", "two digits of a year"),
        ("210100014210026352", "mrn_country", "country code"),
        ("21GB0001421002-352", "mrn_serial", "letters and numbers"),
        ("21GB000142100263-2", "mrn_procedure", "procedure"),
        ("21GB00014210026353", "mrn_check", "check character"),
    ],
)
def test_each_mistake_has_its_own_message(value, code, words):
    with pytest.raises(ValidationError) as caught:
        mrn_validate(value)
    assert caught.value.code == code
    assert words in caught.value.messages[0]
