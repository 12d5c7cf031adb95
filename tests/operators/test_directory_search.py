"""Directory search (issue 4, point 1): by country (required), name (partial, case and accent
insensitive), EORI number, section and activity type; listed operators only; paging. The
full-text index (SQLite FTS5) and the trigram index (PostgreSQL pg_trgm) stay in step with the
operators table, whatever writes it. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import factory
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from comptoir.core.text import search_text
from comptoir.operators import directory
from comptoir.operators.directory import (
    directory_paginator,
    directory_search,
    directory_words,
    name_similarity,
    names_look_alike,
)
from comptoir.operators.models import ActivityType, Operator, OperatorActivity
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory

pytestmark = pytest.mark.django_db

SQLITE = connection.vendor == "sqlite"
POSTGRESQL = connection.vendor == "postgresql"


class ListedOperatorFactory(OperatorFactory):
    """An active operator with its name folded for search, as every service writes it."""

    search_name = factory.LazyAttribute(lambda operator: search_text(operator.name))


def names(rows) -> list[str]:
    return [operator.name for operator in rows]


def found(**criteria) -> list[str]:
    return names(directory_search(**criteria))


@pytest.fixture
def catalogue() -> dict[str, ActivityType]:
    return {kind.code: kind for kind in ActivityType.objects.select_related("section")}


# --- name: case, accents, partial words ---------------------------------------------------------


def test_case_and_accents_do_not_matter_either_way():
    ListedOperatorFactory(name="Société Générale d'Import Müller")
    ListedOperatorFactory(name="Transports Dupont")
    for typed in ("societe", "SOCIÉTÉ", "Generale", "muller", "MÜLLER", "d import", "Sôciété"):
        assert found(country="FR", name=typed) == ["Société Générale d'Import Müller"], typed


def test_a_word_may_be_typed_in_part_and_the_words_in_any_order():
    ListedOperatorFactory(name="Transports Dupont SARL")
    ListedOperatorFactory(name="Dupuis Logistique")
    ListedOperatorFactory(name="Martin Transit")
    assert found(country="FR", name="dup") == ["Dupuis Logistique", "Transports Dupont SARL"]
    assert found(country="FR", name="dupont trans") == ["Transports Dupont SARL"]
    assert found(country="FR", name="trans") == ["Martin Transit", "Transports Dupont SARL"]
    assert found(country="FR", name="sa") == ["Transports Dupont SARL"]
    assert found(country="FR", name="dupont transit") == []


def test_every_word_must_match():
    ListedOperatorFactory(name="Transports Dupont")
    assert found(country="FR", name="dupont martin") == []


def test_a_part_from_the_middle_of_a_word():
    """PostgreSQL finds a word typed from its middle (three letters or more); SQLite matches
    words from their start only (documented in docs/directory.md)."""
    ListedOperatorFactory(name="Transports Dupont")
    expected = ["Transports Dupont"] if POSTGRESQL else []
    assert found(country="FR", name="upon") == expected
    # One or two letters must start a word, on every database.
    assert found(country="FR", name="up") == []
    assert found(country="FR", name="du") == ["Transports Dupont"]


def test_punctuation_and_digits_are_words_like_the_others():
    ListedOperatorFactory(name="L'Atelier-Bois 3000")
    assert found(country="FR", name="latelier") == []
    assert found(country="FR", name="atelier bois") == ["L'Atelier-Bois 3000"]
    assert found(country="FR", name="3000") == ["L'Atelier-Bois 3000"]
    assert found(country="FR", name="  bois--3000 ") == ["L'Atelier-Bois 3000"]


def test_words_of_the_full_text_syntax_are_plain_words():
    ListedOperatorFactory(name="Near And Not Or Sons")
    ListedOperatorFactory(name="Country Stores")
    assert found(country="FR", name="near and not or") == ["Near And Not Or Sons"]
    assert found(country="FR", name='"sons" NOT* country:') == []
    assert found(country="FR", name="country") == ["Country Stores"]


def test_a_name_with_nothing_searchable_is_no_name_filter():
    ListedOperatorFactory(name="Dupont")
    assert found(country="FR", name="-- ' ") == ["Dupont"]
    assert directory_words("Été  ÉTÉ ete, Dupont") == ["ete", "dupont"]
    assert len(directory_words(" ".join(f"w{n}" for n in range(20)))) == directory.MAX_WORDS


# --- other criteria ------------------------------------------------------------------------------


def test_country_is_required_and_limits_the_results():
    ListedOperatorFactory(name="Dupont France", country="FR")
    ListedOperatorFactory(name="Dupont Belgique", country="BE", eori="")
    assert found(country="fr", name="dupont") == ["Dupont France"]
    assert found(country="BE", name="dupont") == ["Dupont Belgique"]
    assert found(country="", name="dupont") == []
    assert found(country="FRA", name="dupont") == []


def test_eori_matches_the_whole_number_spaces_and_case_ignored():
    ListedOperatorFactory(name="Dupont", eori="FR552100554")
    ListedOperatorFactory(name="Martin", eori="FR123456782")
    assert found(country="FR", eori="fr 552 100 554") == ["Dupont"]
    assert found(country="FR", eori="FR55210055") == []
    assert found(country="FR", eori="FR552100554", name="martin") == []


def test_section_and_activity_type(catalogue):
    plants = ListedOperatorFactory(name="Pépinières Martin")
    cites = ListedOperatorFactory(name="Martin Reptiles")
    ListedOperatorFactory(name="Martin Transports")
    OperatorActivity.objects.create(
        operator=plants, activity_type=catalogue["EUPO"], identifier="FR-EUPO-1"
    )
    OperatorActivity.objects.create(operator=cites, activity_type=catalogue["EU_CITES"])
    assert found(country="FR", section="PLANT_HEALTH") == ["Pépinières Martin"]
    assert found(country="FR", activity_type="EU_CITES") == ["Martin Reptiles"]
    assert found(country="FR", section="PLANT_HEALTH", activity_type="EUPO") == [
        "Pépinières Martin"
    ]
    assert found(country="FR", section="CITES", activity_type="EUPO") == []
    assert found(country="FR", section="FLEGT") == []
    assert found(country="FR", name="martin", section="CITES") == ["Martin Reptiles"]


def test_only_listed_operators_are_found():
    kept = ListedOperatorFactory(name="Dupont Gardé")
    ListedOperatorFactory(name="Dupont Fusionné", merged_into=kept)
    ListedOperatorFactory(name="Dupont Supprimé", deleted_at=timezone.now())
    for status in ("closed", "pending", "suspended"):
        ListedOperatorFactory(name=f"Dupont {status}", status=status)
    assert found(country="FR", name="dupont") == ["Dupont Gardé"]
    assert found(country="FR") == ["Dupont Gardé"]


# --- order and paging ----------------------------------------------------------------------------


def test_results_come_by_name_then_id_and_page_by_page():
    for number in range(30, 0, -1):
        ListedOperatorFactory(name=f"Dupont {number:02d}")
    twin = ListedOperatorFactory(name="Dupont 05")
    rows = list(directory_search(country="FR", name="dupont"))
    assert names(rows)[:7] == [
        "Dupont 01",
        "Dupont 02",
        "Dupont 03",
        "Dupont 04",
        "Dupont 05",
        "Dupont 05",
        "Dupont 06",
    ]
    assert rows[5].pk == twin.pk and rows[4].pk < twin.pk
    paginator = directory_paginator(country="FR", name="dupont")
    assert (paginator.count, paginator.num_pages, paginator.more) == (31, 2, False)
    assert names(paginator.page(1).object_list) == names(rows[:20])
    assert names(paginator.page(2).object_list) == names(rows[20:])
    assert paginator.get_page(9).number == 2


def test_the_count_stops_at_the_cap(monkeypatch):
    monkeypatch.setattr(directory, "COUNT_CAP", 10)
    for number in range(12):
        ListedOperatorFactory(name=f"Martin {number:02d}")
    paginator = directory_paginator(country="FR", name="mar", per_page=4)
    assert (paginator.count, paginator.more, paginator.num_pages) == (10, True, 3)
    assert names(paginator.page(3).object_list) == ["Martin 08", "Martin 09"]
    exact = directory_paginator(country="FR", name="martin 11", per_page=4)
    assert (exact.count, exact.more) == (1, False)


def test_postgresql_walks_the_name_index_when_many_match(monkeypatch):
    """More matches than the count's cap: PostgreSQL reads a page by walking the (country, name)
    index in name order (the words checked in the index alone), and finds the same rows as the
    trigram index does."""
    monkeypatch.setattr(directory, "COUNT_CAP", 5)
    for number in range(9, -1, -1):
        ListedOperatorFactory(name=f"Transports Martin {number}")
    ListedOperatorFactory(name="Martin Transports", country="BE", eori="")
    paginator = directory_paginator(country="FR", name="mar tr", per_page=3)
    assert paginator.more
    if not POSTGRESQL:
        assert paginator.walk is None
        return
    walked = [paginator.page(number).object_list for number in (1, 2)]
    assert [names(rows) for rows in walked] == [
        ["Transports Martin 0", "Transports Martin 1", "Transports Martin 2"],
        ["Transports Martin 3", "Transports Martin 4"],
    ]
    assert list(paginator.walk.values_list("pk", flat=True)) == list(
        paginator.rows.values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:
        # On a table this small the planner may take any index: leave it the two that matter
        # (dropped inside the test's transaction).
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'operators_operator' AND "
            "indexname NOT IN ('operator_directory_country_name', 'operator_directory_trgm') "
            "AND indexname NOT LIKE '%pkey'"
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{index}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = paginator.walk.values_list("pk", flat=True)[:3].query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using operator_directory_country_name" in plan, plan
    assert "operator_directory_trgm" not in plan, plan


def test_pages_bring_the_activities_with_their_identifiers(
    catalogue, django_assert_max_num_queries
):
    operator = ListedOperatorFactory(name="Pépinières Dupont")
    OperatorActivity.objects.create(
        operator=operator, activity_type=catalogue["PLANTS"], identifier="FR-PL-77"
    )
    OperatorActivity.objects.create(operator=operator, activity_type=catalogue["EUPO"])
    for number in range(5):
        ListedOperatorFactory(name=f"Dupont {number}")
    paginator = directory_paginator(country="FR", name="dupont")
    with django_assert_max_num_queries(6):
        page = paginator.page(1)
        lines = [
            directory.operator_activity_lines(operator=row, language="fr")
            for row in page.object_list
        ]
    pepinieres = lines[names(page.object_list).index("Pépinières Dupont")]
    assert [(line.code, line.label, line.identifier) for line in pepinieres] == [
        ("EUPO", "Opérateur professionnel (UE)", ""),
        ("PLANTS", "Végétaux et produits végétaux", "FR-PL-77"),
    ]


def test_sqlite_plans_for_few_and_many_matches_give_the_same_rows(monkeypatch):
    """SQLite reads few matches by id and sorts them, and walks the name index for many: both
    give the same rows in the same order, and count the same."""
    for number in range(8):
        ListedOperatorFactory(name=f"Transports Dupont {7 - number}")
    ListedOperatorFactory(name="Dupont", country="BE", eori="")
    few = names(directory_search(country="FR", name="dupont trans"))
    few_count = directory_paginator(country="FR", name="dupont trans").count
    monkeypatch.setattr(directory, "SQLITE_FETCH_MATCHES_MAX", 2)
    many = directory_search(country="FR", name="dupont trans")
    if SQLITE:
        assert "(+" in str(many.query)
    assert names(many) == few == [f"Transports Dupont {n}" for n in range(8)]
    assert directory_paginator(country="FR", name="dupont trans").count == few_count == 8
    assert names(many[3:5]) == ["Transports Dupont 3", "Transports Dupont 4"]


# --- the indexes follow the table ----------------------------------------------------------------


def fts_integrity_check() -> None:
    """SQLite: FTS5 compares its index with the content table and raises when they differ."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO operators_operator_fts(operators_operator_fts, rank) "
            "VALUES ('integrity-check', 1)"
        )


def test_the_index_follows_inserts_updates_and_deletes():
    operator = ListedOperatorFactory(name="Dupont")
    assert found(country="FR", name="dupont") == ["Dupont"]
    operator.name, operator.search_name = "Martin", search_text("Martin")
    operator.save()
    assert found(country="FR", name="dupont") == []
    assert found(country="FR", name="martin") == ["Martin"]
    Operator.objects.filter(pk=operator.pk).update(name="Ébène", search_name="ebene")
    assert found(country="FR", name="martin") == []
    assert found(country="FR", name="EBENE") == ["Ébène"]
    Operator.objects.filter(pk=operator.pk).update(country="BE")
    assert found(country="FR", name="ebene") == []
    assert found(country="BE", name="ebene") == ["Ébène"]
    Operator.objects.filter(pk=operator.pk).delete()
    assert found(country="BE", name="ebene") == []
    if SQLITE:
        fts_integrity_check()


def test_the_index_follows_bulk_create_and_raw_sql():
    Operator.objects.bulk_create(
        [
            Operator(name=name, search_name=search_text(name), country="FR", status="active")
            for name in ("Bulk Un", "Bulk Deux", "Bulk Trois")
        ]
    )
    assert found(country="FR", name="bulk") == ["Bulk Deux", "Bulk Trois", "Bulk Un"]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE operators_operator SET search_name = 'bulk quatre', name = 'Bulk Quatre' "
            "WHERE name = 'Bulk Un'"
        )
        cursor.execute("DELETE FROM operators_operator WHERE name = 'Bulk Deux'")
    assert found(country="FR", name="bulk") == ["Bulk Quatre", "Bulk Trois"]
    assert found(country="FR", name="un") == []
    if SQLITE:
        fts_integrity_check()


def test_the_search_uses_the_index():
    """The query keeps the shape the index answers: the FTS5 table on SQLite; on PostgreSQL the
    trigram index (partial, on country and search_name). On a small table PostgreSQL prefers
    other plans: the test leaves it no other index (dropped inside the test's transaction)."""
    ListedOperatorFactory(name="Transports Dupont")
    with connection.cursor() as cursor:
        if POSTGRESQL:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'operators_operator' "
                "AND indexname <> 'operator_directory_trgm' AND indexname NOT LIKE '%pkey'"
            )
            for (index,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{index}"')
            cursor.execute("SET LOCAL enable_seqscan = off")
        for text in ("dupont", "du", "dupont tr"):
            sql, params = directory_search(country="FR", name=text).query.sql_with_params()
            if SQLITE:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                plan = " ".join(str(row) for row in cursor.fetchall())
                assert "operators_operator_fts VIRTUAL TABLE" in plan, plan
            elif POSTGRESQL:
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "Bitmap Index Scan on operator_directory_trgm" in plan, plan
            else:  # pragma: no cover
                pytest.skip("no directory index on this database")


def test_sqlite_triggers_are_in_place():
    """A later migration that rebuilds operators_operator on SQLite drops its triggers: this
    fails then (re-create them with the 0006 migration's sqlite_fts_install)."""
    if not SQLITE:
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = "
            "'operators_operator' ORDER BY name"
        )
        triggers = [row[0] for row in cursor.fetchall()]
    assert triggers == [
        "operators_operator_fts_delete",
        "operators_operator_fts_insert",
        "operators_operator_fts_update",
    ]


# Migrating needs real transactions (SQLite refuses schema changes inside one). Serialized
# rollback: the database is left as the other transactional tests expect it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_backfills_and_reverses():
    operator = ListedOperatorFactory(name="Ancien Nom Été")
    Operator.objects.filter(pk=operator.pk).update(search_name="")
    call_command("migrate", "operators", "0005", verbosity=0)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "operators_operator_fts" not in tables
    # Every app forward again: going back to operators 0005 also unapplied the apps whose
    # migrations depend on later operators migrations (lodging, b2g, certificates…).
    call_command("migrate", verbosity=0)
    operator.refresh_from_db()
    assert operator.search_name == "ancien nom ete"
    assert found(country="FR", name="ete ancien") == ["Ancien Nom Été"]
    if SQLITE:
        fts_integrity_check()


# --- names that look alike (used before creating an operator) -------------------------------------


def test_name_similarity_is_pg_trgm_s():
    assert name_similarity("Dupont", "dupont") == 1.0
    assert name_similarity("Dupont", "Martin") == 0.0
    # pg_trgm: similarity('transports dupont', 'transports dupont sarl') = 0.7826087
    assert name_similarity("Transports Dupont", "Transports Dupont SARL") == pytest.approx(18 / 23)
    if POSTGRESQL:
        with connection.cursor() as cursor:
            cursor.execute("SELECT similarity('transports dupont', 'transports dupont sarl')")
            assert cursor.fetchone()[0] == pytest.approx(18 / 23, abs=1e-6)


def test_names_look_alike():
    assert names_look_alike("Transports Dupont", "TRANSPORTS DUPONT S.A.")
    assert names_look_alike("Dupont", "Transports Dupont SA")  # every word of the shorter one
    assert names_look_alike("Société Dupond", "Societe Dupont")
    assert not names_look_alike("Transports Dupont", "Transports Martin")
    assert not names_look_alike("", "Dupont")


# --- the page ------------------------------------------------------------------------------------


@pytest.fixture
def client() -> Client:
    browser = Client()
    browser.force_login(UserFactory())
    return browser


def test_the_page_needs_an_account():
    response = Client().get("/directory/", {"country": "FR"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_first_visit_shows_the_form_without_errors(client):
    response = client.get("/directory/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is a problem" not in body and "Results" not in body
    assert 'name="country"' in body and 'name="activity_type"' in body
    assert "Plant health" in body and ">EUPO<" not in body  # labels, not codes
    assert "Professional operator (EU)" in body


def test_the_country_is_required_with_a_specific_message(client):
    response = client.get("/directory/", {"name": "dupont", "country": ""})
    body = response.content.decode()
    assert "There is a problem" in body
    assert "Enter the country as a two-letter code, for example FR." in body
    assert response.context["page"] is None
    response = client.get("/directory/", {"country": "F1"})
    assert (
        "Enter a two-letter country code (ISO 3166), for example FR." in response.content.decode()
    )


def test_a_wrong_eori_or_an_activity_outside_the_section_is_explained(client):
    body = client.get("/directory/", {"country": "FR", "eori": "GB123"}).content.decode()
    assert "EORI numbers that start with GB" in body
    body = client.get(
        "/directory/", {"country": "FR", "section": "CITES", "activity_type": "EUPO"}
    ).content.decode()
    assert "This activity type is not in the section you chose" in body


def test_results_show_name_address_activities_and_a_checkbox_per_row(client, catalogue):
    operator = ListedOperatorFactory(
        name="Pépinières Dupont",
        eori="FR552100554",
        address_line1="12 rue des Lilas",
        postcode="69001",
        city="Lyon",
    )
    OperatorActivity.objects.create(
        operator=operator, activity_type=catalogue["EUPO"], identifier="FR-69-0001"
    )
    response = client.get("/directory/", {"country": "fr", "name": "pepinieres"})
    body = response.content.decode()
    assert "1 operator matches." in body
    assert "Pépinières Dupont" in body and "FR552100554" in body
    assert "12 rue des Lilas" in body and "69001 Lyon" in body
    assert "Plant health: Professional operator (EU) (EUPO), FR-69-0001" in body
    assert f'name="operator" value="{operator.pk}"' in body
    assert 'action="/roles/new/"' in body and "Request authorisation" in body


def test_results_page_keeps_the_filters_in_the_page_links(client):
    for number in range(22):
        ListedOperatorFactory(name=f"Martin {number:02d}")
    response = client.get("/directory/", {"country": "FR", "name": "martin"})
    body = response.content.decode()
    assert "22 operators match." in body and "Page 1 of 2" in body
    assert 'href="?country=FR&amp;name=martin&amp;page=2"' in body
    second = client.get("/directory/", {"country": "FR", "name": "martin", "page": "2"})
    assert names(second.context["page"].object_list) == ["Martin 20", "Martin 21"]
    assert "(page 2 of 2)" in second.content.decode()


def test_nothing_found_offers_to_create_the_operator(client):
    response = client.get("/directory/", {"country": "BE", "name": "Dupont Frères"})
    body = response.content.decode()
    assert "No operator in the directory matches your search." in body
    assert "/directory/new/?country=BE&amp;name=Dupont+Fr%C3%A8res" in body


def test_the_page_is_in_the_person_s_language(catalogue):
    person = UserFactory(language="fr")
    browser = Client(HTTP_ACCEPT_LANGUAGE="fr")
    browser.force_login(person)
    body = browser.get("/directory/").content.decode()
    assert "Santé des végétaux" in body
