"""Concurrent MRN issuance on PostgreSQL: many lodgings at the same moment, starting before the
year's counter row exists, give distinct, consecutive serials and valid MRNs."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import translation

from comptoir.core.identifiers import mrn_validate
from comptoir.lodging import services
from comptoir.lodging.models import Declaration, MrnCounter
from tests.lodging.conftest import XML
from tests.markers import requires_postgresql

THREADS = 8
EACH = 5


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_lodgings_get_distinct_consecutive_mrns(world):
    assert not MrnCounter.objects.exists()
    barrier = threading.Barrier(THREADS, timeout=30)
    issued: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            with translation.override("en"):
                barrier.wait()
                for _ in range(EACH):
                    declaration = services.declaration_lodge(
                        operator=world.portal_operator,
                        declaration_type_code="IMPORT",
                        payload=XML,
                        filename_or_format="import.xml",
                        channel="portal",
                        person=world.employee,
                    )
                    with lock:
                        issued.append(declaration.mrn)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(issued) == THREADS * EACH
    assert len(set(issued)) == len(issued)
    assert all(mrn_validate(mrn) == mrn for mrn in issued)
    assert sorted(int(mrn[4:16]) for mrn in issued) == list(range(1, THREADS * EACH + 1))
    assert Declaration.objects.count() == THREADS * EACH
    assert MrnCounter.objects.get().last == THREADS * EACH
