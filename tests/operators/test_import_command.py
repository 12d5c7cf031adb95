"""`manage.py operators_import`: operators loaded from a national register's CSV export, rows
checked one by one with a report of the rejected ones, upserted by EORI (or country and national
number) so that importing again changes nothing."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from stdnum import luhn

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.operators.models import Operator
from tests.factories_operators import OperatorFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "eori,name,country,region,city,postcode,address,phone,fax,email,website,national_id,"
    "latitude,longitude"
)


def fr_eori(n: int) -> str:
    base = f"{40000000 + n}"
    return f"FR{base}{luhn.calc_check_digit(base)}"


GOOD = [
    # line 2: a French operator with accents, coordinates and a website without scheme
    f"{fr_eori(1)},Société Générale d'Exportation Lefèvre,FR,Bourgogne-Franche-Comté,Besançon,"
    "25000,12 rue de la Gare,+33 3 81 00 00 00,,export@lefevre.example,www.lefevre.example,,"
    "47.237829,6.024054",
    # line 3: a German one, e-mail only
    "DE1234567,Müller Spedition GmbH,DE,Bayern,München,80331,Hauptstraße 1,,,info@mueller.example"
    ",,,,",
    # line 4: outside the EU: no EORI, its national number
    ",Zürcher Holz AG,CH,Zürich,Zürich,8001,Bahnhofstrasse 5,+41 44 000 00 00,,,,CHE-123.456.789,,",
]
BAD = [
    # line 5: French EORI with a wrong check digit
    f"{fr_eori(2)[:-1]}{(int(fr_eori(2)[-1]) + 1) % 10},Mauvais Chiffre SARL,FR,,Lyon,69001,,"
    "+33 4 00 00 00 00,,,,,,",
    # line 6: no name
    f"{fr_eori(3)},,FR,,Lille,59000,,+33 3 20 00 00 00,,,,,,",
    # line 7: no contact at all
    f"{fr_eori(4)},Sans Contact SA,FR,,Nantes,44000,,,,,,,,",
    # line 8: latitude out of range, bad e-mail
    f"{fr_eori(5)},Hors Carte SAS,FR,,Brest,29200,,,,not-an-email,,,95.5,2.1",
    # line 9: neither EORI nor national number
    ",Anonyme Ltd,GB,,London,EC1A 1BB,,+44 20 0000 0000,,,,,,",
    # line 10: the EORI of line 2 again
    f"{fr_eori(1)},Lefèvre Doublon,FR,,Dijon,21000,,+33 3 80 00 00 00,,,,,,",
    # line 11: a country code that is not one
    f"{fr_eori(6)},Pays Inconnu,France,,Paris,75001,,+33 1 00 00 00 00,,,,,,",
]


def write_csv(
    path: Path, lines: list[str], *, delimiter: str = ",", bom: bool = False, header: str = HEADER
) -> Path:
    text = "\n".join([header, *lines]) + "\n"
    if delimiter != ",":
        # Re-write through the csv module so that quoting stays right.
        rows = list(csv.reader(io.StringIO(text)))
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        text = buffer.getvalue()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("operators_import", *args, "--no-progress", stdout=out)
    return out.getvalue()


def rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_good_rows_are_created_active_and_each_bad_row_is_reported_with_why(tmp_path):
    source = write_csv(tmp_path / "register.csv", GOOD + BAD)

    output = run(str(source))

    assert "3 created, 0 updated, 0 unchanged, 7 rejected" in output
    assert Operator.objects.count() == 3
    lefevre = Operator.objects.get(eori=fr_eori(1))
    assert lefevre.name == "Société Générale d'Exportation Lefèvre"
    assert lefevre.search_name == "societe generale d exportation lefevre"
    assert lefevre.status == Operator.Status.ACTIVE
    assert lefevre.city == "Besançon"
    assert lefevre.region == "Bourgogne-Franche-Comté"
    assert lefevre.address_line1 == "12 rue de la Gare"
    assert lefevre.website == "https://www.lefevre.example"
    assert lefevre.latitude == Decimal("47.237829")
    assert lefevre.longitude == Decimal("6.024054")
    muller = Operator.objects.get(eori="DE1234567")
    assert muller.search_name == "muller spedition gmbh"
    assert muller.email == "info@mueller.example"
    assert muller.latitude is None
    swiss = Operator.objects.get(national_id="CHE-123.456.789")
    assert (swiss.eori, swiss.country, swiss.search_name) == ("", "CH", "zurcher holz ag")

    report = rejects(tmp_path / "register.rejects.csv")
    by_line: dict[str, list[dict[str, str]]] = {}
    for row in report:
        by_line.setdefault(row["line"], []).append(row)
    assert sorted(by_line, key=int) == ["5", "6", "7", "8", "9", "10", "11"]
    assert by_line["5"][0]["column"] == "eori"
    assert "SIREN" in by_line["5"][0]["reason"]
    assert by_line["6"] == [
        {"line": "6", "column": "name", "value": "", "reason": "Enter the operator's name"}
    ]
    assert by_line["7"][0]["reason"] == "Give at least one of phone, fax, email or website"
    assert {row["column"] for row in by_line["8"]} == {"latitude", "email"}
    assert next(r for r in by_line["8"] if r["column"] == "latitude")["value"] == "95.5"
    assert by_line["9"][0]["column"] == "eori"
    assert "national identification number" in by_line["9"][0]["reason"]
    assert by_line["10"][0]["reason"] == f"The EORI number {fr_eori(1)} is already on line 2"
    assert by_line["11"][0]["column"] == "country"

    event = AuditEvent.objects.get(action="operators.imported")
    assert event.data["file"] == "register.csv"
    assert (event.data["rows"], event.data["created"], event.data["rejected"]) == (10, 3, 7)
    assert event.data["updated"] == event.data["unchanged"] == 0
    assert len(event.data["sha256"]) == 64
    assert audit_verify() is None


def test_importing_the_same_file_twice_changes_nothing(tmp_path):
    source = write_csv(tmp_path / "register.csv", GOOD + BAD)
    run(str(source))
    before = {o.pk: o.modified_at for o in Operator.objects.all()}

    output = run(str(source))

    assert "0 created, 0 updated, 3 unchanged, 7 rejected" in output
    assert {o.pk: o.modified_at for o in Operator.objects.all()} == before
    assert len(rejects(tmp_path / "register.rejects.csv")) == 8  # the same report again
    assert AuditEvent.objects.filter(action="operators.imported").count() == 2


def test_a_changed_row_updates_its_operator_and_keeps_what_the_file_does_not_carry(tmp_path):
    run(str(write_csv(tmp_path / "v1.csv", GOOD)))
    muller = Operator.objects.get(eori="DE1234567")
    Operator.objects.filter(pk=muller.pk).update(status=Operator.Status.SUSPENDED)
    changed = [
        GOOD[0],
        GOOD[1]
        .replace("Müller Spedition GmbH", "Müller & Söhne Logistik GmbH")
        .replace("80331", "80333"),
        GOOD[2],
    ]

    output = run(str(write_csv(tmp_path / "v2.csv", changed)))

    assert "0 created, 1 updated, 2 unchanged, 0 rejected" in output
    muller.refresh_from_db()
    assert muller.name == "Müller & Söhne Logistik GmbH"
    assert muller.search_name == "muller sohne logistik gmbh"
    assert muller.postcode == "80333"
    assert muller.status == Operator.Status.SUSPENDED  # the import does not reactivate
    assert Operator.objects.count() == 3

    # A file without the phone and website columns leaves them as they are.
    header = "eori,name,country,city,email,national_id"
    only_email = [f"{fr_eori(1)},Lefèvre Export,FR,Besançon,export@lefevre.example,"]
    run(str(write_csv(tmp_path / "v3.csv", only_email, header=header)))
    lefevre = Operator.objects.get(eori=fr_eori(1))
    assert lefevre.name == "Lefèvre Export"
    assert lefevre.phone == "+33 3 81 00 00 00"
    assert lefevre.website == "https://www.lefevre.example"
    assert lefevre.latitude == Decimal("47.237829")


def test_an_operator_already_in_the_portal_is_updated_not_duplicated(tmp_path):
    existing = OperatorFactory(eori=fr_eori(1), name="Lefevre (saisie manuelle)", phone="")

    output = run(str(write_csv(tmp_path / "register.csv", GOOD[:1])))

    assert "0 created, 1 updated" in output
    existing.refresh_from_db()
    assert existing.name == "Société Générale d'Exportation Lefèvre"
    assert existing.search_name == "societe generale d exportation lefevre"
    assert Operator.objects.filter(eori=fr_eori(1)).count() == 1


def test_operators_without_eori_are_matched_by_country_and_national_number(tmp_path):
    header = "eori,name,country,city,phone,national_id"
    run(
        str(
            write_csv(
                tmp_path / "a.csv", [",Zürcher Holz AG,CH,Zürich,+41 44 1,CHE-1"], header=header
            )
        )
    )
    swiss = Operator.objects.get()

    # Same number in another country: another operator.
    run(
        str(
            write_csv(
                tmp_path / "b.csv", [",Oslo Tre AS,NO,Oslo,+47 22 00 00 00,CHE-1"], header=header
            )
        )
    )
    assert Operator.objects.count() == 2

    # The register now gives the Swiss operator an EORI (issued in an EU member state).
    output = run(
        str(
            write_csv(
                tmp_path / "c.csv",
                [f"{fr_eori(9)},Zürcher Holz AG,CH,Zürich,+41 44 1,CHE-1"],
                header=header,
            )
        )
    )
    assert "0 created, 1 updated" in output
    swiss.refresh_from_db()
    assert swiss.eori == fr_eori(9)
    assert Operator.objects.count() == 2

    # Two rows without EORI with the same number: the second is refused.
    run(
        str(
            write_csv(
                tmp_path / "d.csv",
                [",Basel AG,CH,Basel,+41 61 1,CHE-2", ",Basel Zwei AG,CH,Basel,+41 61 2,CHE-2"],
                header=header,
            )
        )
    )
    [refused] = rejects(tmp_path / "d.rejects.csv")
    assert (refused["line"], refused["column"]) == ("3", "national_id")
    assert "already on line 2" in refused["reason"]


def test_bom_semicolons_crlf_and_multiline_values(tmp_path):
    multiline = (
        f'{fr_eori(7)},"Vins ""Château"" Pétrus\net Fils",FR,,Pomerol,33500,,+33 5 57 00 00 00,,,,'
        ",,"
    )
    source = write_csv(tmp_path / "export.csv", [*GOOD, multiline, BAD[2]], delimiter=";", bom=True)
    assert source.read_bytes().startswith(b"\xef\xbb\xbfeori;name;country")

    output = run(str(source))

    assert "4 created, 0 updated, 0 unchanged, 1 rejected" in output
    assert Operator.objects.get(eori=fr_eori(7)).search_name == "vins chateau petrus et fils"
    assert Operator.objects.get(eori="DE1234567").name == "Müller Spedition GmbH"
    # The value spanning lines 5 and 6, the next row is reported on line 7.
    [refused] = rejects(tmp_path / "export.rejects.csv")
    assert (refused["line"], refused["column"]) == ("7", "phone, fax, email, website")


def test_country_option_fills_the_country_and_refuses_other_countries(tmp_path):
    header = "eori;name;city;email"
    run(
        str(
            write_csv(
                tmp_path / "fr.csv",
                [f"{fr_eori(1)};Lefèvre;Dijon;a@lefevre.example"],
                header=header,
            )
        ),
        "--country",
        "fr",
    )
    assert Operator.objects.get().country == "FR"

    run(str(write_csv(tmp_path / "mixed.csv", GOOD)), "--country", "FR")
    assert set(Operator.objects.values_list("country", flat=True)) == {"FR"}
    refused = rejects(tmp_path / "mixed.rejects.csv")
    assert [(r["line"], r["column"]) for r in refused] == [("3", "country"), ("4", "country")]
    assert refused[0]["reason"] == "This file is imported for FR: this row is for DE"


def test_small_batches_and_a_report_path(tmp_path):
    many = [
        f"{fr_eori(100 + n)},Transports Numéro {n},FR,,Lyon,69001,,+33 4 00 00 00 {n:02d},,,,,,"
        for n in range(7)
    ]
    source = write_csv(tmp_path / "many.csv", many + BAD[:2])
    report = tmp_path / "out" / "refused.csv"
    report.parent.mkdir()

    output = run(str(source), "--batch-size", "2", "--rejects", str(report))
    assert "7 created, 0 updated, 0 unchanged, 2 rejected" in output
    assert str(report) in output
    assert [r["line"] for r in rejects(report)] == ["9", "10"]
    assert not (tmp_path / "many.rejects.csv").exists()

    changed = [
        line.replace("Lyon", "Villeurbanne") if "Numéro 3" in line else line for line in many
    ]
    output = run(str(write_csv(source, changed)), "--batch-size", "2", "--rejects", str(report))
    assert "0 created, 1 updated, 6 unchanged, 0 rejected" in output
    assert Operator.objects.get(name="Transports Numéro 3").city == "Villeurbanne"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"eori,city,email\nFR1,Lyon,a@b.example\n", "no column name, country"),
        (b"name,country,email\nA,FR,a@b.example\n", "no column eori or national_id"),
        (b"eori,name,country,name\n", "names the column “name” twice"),
        ("eori,name,country\nFR1,Caf\xe9,FR\n".encode("latin-1"), "not UTF-8 text (line 2)"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_before_anything_is_written(
    tmp_path, content, message
):
    source = tmp_path / "bad.csv"
    source.write_bytes(content)
    with pytest.raises(CommandError, match=re.escape(message)):
        run(str(source))
    assert not Operator.objects.exists()
    assert not (tmp_path / "bad.rejects.csv").exists()
    assert not AuditEvent.objects.filter(action__startswith="operators.import").exists()


def test_missing_file_and_bad_options(tmp_path):
    with pytest.raises(CommandError, match="There is no file at"):
        run(str(tmp_path / "nowhere.csv"))
    source = write_csv(tmp_path / "register.csv", GOOD)
    with pytest.raises(CommandError, match="two-letter country code"):
        run(str(source), "--country", "FRA")
    with pytest.raises(CommandError, match="batch size"):
        run(str(source), "--batch-size", "0")
    with pytest.raises(CommandError, match="cannot overwrite"):
        run(str(source), "--rejects", str(source))
    assert not Operator.objects.exists()


def test_each_check_says_what_is_wrong(tmp_path):
    header = "eori;name;country;phone;fax;website;latitude;longitude"
    lines = [
        f"{fr_eori(20)};{'N' * 201};FR;+33 1 00 00 00 00;;;;",
        f"{fr_eori(21)};Appelez-nous;FR;call us;;;;",
        f"{fr_eori(22)};Fax Court;FR;;12;;;",
        f"{fr_eori(23)};Site Cassé;FR;;;not a site;;",
        f"{fr_eori(24)};Demi Point;FR;+33 1 00 00 00 00;;;45.1;",
        f"{fr_eori(25)};Trop à l'Est;FR;+33 1 00 00 00 00;;;45.1;200",
        f"{fr_eori(26)};Latitude Texte;FR;+33 1 00 00 00 00;;;abc;2",
        "GB123456789000;British Ltd;GB;+44 20 0000 0000;;;;",
        f"{fr_eori(27)};Virgule Décimale;FR;+33 1 00 00 00 00;;;45,5;3,25",
        f"{fr_eori(28)} ;  Espaces Autour  ;fr;+33 1 00 00 00 00;;;;",
    ]
    source = tmp_path / "checks.csv"
    source.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")

    run(str(source))

    found = [
        (r["line"], r["column"], r["reason"]) for r in rejects(tmp_path / "checks.rejects.csv")
    ]
    assert found == [
        ("2", "name", "name must be 200 characters or fewer"),
        (
            "3",
            "phone",
            "Enter a phone number with at least 4 digits, using only digits, spaces and "
            "+ ( ) - . /",
        ),
        (
            "4",
            "fax",
            "Enter a fax number with at least 4 digits, using only digits, spaces and + ( ) - . /",
        ),
        (
            "5",
            "website",
            "Enter a website address in the correct format, like https://www.example.com",
        ),
        ("6", "longitude", "Give both latitude and longitude, or neither"),
        ("7", "longitude", "Enter the longitude as a number between -180 and 180, like 2.3522"),
        ("8", "latitude", "Enter the latitude as a number between -90 and 90, like 48.8566"),
        (
            "9",
            "eori",
            "EORI numbers that start with GB are issued for Great Britain and are not accepted: "
            "enter an EORI number issued in the EU or in Northern Ireland (XI)",
        ),
    ]
    decimal_comma = Operator.objects.get(eori=fr_eori(27))
    assert (decimal_comma.latitude, decimal_comma.longitude) == (Decimal("45.5"), Decimal("3.25"))
    trimmed = Operator.objects.get(eori=fr_eori(28))
    assert (trimmed.name, trimmed.country) == ("Espaces Autour", "FR")


def test_progress_bar_and_summary(tmp_path):
    source = write_csv(tmp_path / "register.csv", GOOD)
    out, err = io.StringIO(), io.StringIO()

    call_command("operators_import", str(source), stdout=out, stderr=err)

    assert "register.csv: 3 rows in" in out.getvalue()
    assert "3 created, 0 updated, 0 unchanged, 0 rejected." in out.getvalue()
    assert "Rejected rows" not in out.getvalue()
    assert "100%" in err.getvalue()
    assert "3/3" in err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_second_thread_writes_the_batches(tmp_path):
    """The command as run from the shell: no transaction around it, so batches are written by
    a thread of its own (its own connection) while the next ones are checked."""
    many = [
        f"{fr_eori(200 + n)},Négoce Numéro {n},FR,,Lyon,69001,,+33 4 00 00 00 {n:02d},,,,,,"
        for n in range(9)
    ]
    source = write_csv(tmp_path / "many.csv", many + BAD[:1])

    output = run(str(source), "--batch-size", "2")

    assert "9 created, 0 updated, 0 unchanged, 1 rejected" in output
    assert set(Operator.objects.values_list("search_name", flat=True)) == {
        f"negoce numero {n}" for n in range(9)
    }
    changed = [line.replace("Lyon", "Bron") if "Numéro 8" in line else line for line in many]
    output = run(str(write_csv(source, changed)), "--batch-size", "2")
    assert "0 created, 1 updated, 8 unchanged, 0 rejected" in output
    assert Operator.objects.get(name="Négoce Numéro 8").city == "Bron"
    assert AuditEvent.objects.filter(action="operators.imported").count() == 2
