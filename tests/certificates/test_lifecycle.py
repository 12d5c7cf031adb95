"""After registration: revocation with a reason (the operator or customs), EXPIRED at the end of
validity, reminders 60, 30 and 7 days before (once each, in each person's language), the task
and the management command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from comptoir.certificates import registrations as reg
from comptoir.certificates import tasks
from comptoir.certificates.models import Certificate, CertificateReminder
from comptoir.certificates.services import CertificateStateError
from comptoir.notifications.models import Notice, OutboxMessage
from tests.certificates import test_registrations_kit as kit
from tests.factories_operators import AuthorityFactory, officer

pytestmark = pytest.mark.django_db

CS = Certificate.Status


@pytest.fixture
def dupont(db) -> kit.Company:
    return kit.company()


def test_the_legal_representative_revokes_with_a_reason(dupont):
    certificate = kit.active_certificate(dupont)
    reg.certificate_revoke(person=dupont.lr, certificate=certificate, reason="Key compromised")
    certificate.refresh_from_db()
    assert certificate.status == CS.REVOKED
    assert certificate.revocation_reason == "Key compromised"
    assert certificate.revoked_by == dupont.lr and certificate.revoked_at is not None
    assert kit.actions(certificate)[-1] == "certificates.revoked"
    notices = Notice.objects.filter(topic="certificate.revoked")
    assert {notice.recipient for notice in notices} == {dupont.lr, dupont.manager}
    assert notices.get(recipient=dupont.lr).priority == Notice.Priority.HIGH
    assert "Key compromised" in notices.get(recipient=dupont.manager).body
    mails = OutboxMessage.objects.filter(template="certificates/revoked")
    # Each in the person's language: the legal representative reads French.
    assert dict(mails.values_list("to", "language")) == {
        dupont.lr.email: "fr",
        dupont.manager.email: "en",
    }
    with pytest.raises(CertificateStateError):
        reg.certificate_revoke(person=dupont.lr, certificate=certificate, reason="Again")


def test_a_customs_officer_revokes_any_certificate(dupont):
    certificate = kit.active_certificate(dupont)
    customs = officer(AuthorityFactory())
    reg.certificate_revoke(person=customs, certificate=certificate, reason="Fraud")
    certificate.refresh_from_db()
    assert certificate.status == CS.REVOKED and certificate.revoked_by == customs


def test_revocation_refusals_change_nothing(dupont):
    certificate = kit.active_certificate(dupont)
    with pytest.raises(ValidationError) as refused:
        reg.certificate_revoke(person=dupont.lr, certificate=certificate, reason="  ")
    assert "reason" in refused.value.message_dict
    with pytest.raises(reg.CertificateNotAllowed):
        reg.certificate_revoke(person=dupont.employee, certificate=certificate, reason="Because")
    outsider = kit.company(name="Other company")
    with pytest.raises(reg.CertificateNotAllowed):
        reg.certificate_revoke(person=outsider.lr, certificate=certificate, reason="Because")
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE and not certificate.revocation_reason
    assert not Notice.objects.exists()


def test_expiry_at_the_end_of_validity(dupont):
    ended = kit.active_certificate(dupont, name="Ended", days_left=-1)
    current = kit.active_certificate(dupont, name="Current", days_left=10)
    revoked = kit.active_certificate(dupont, name="Revoked", days_left=-3)
    reg.certificate_revoke(person=dupont.lr, certificate=revoked, reason="Replaced")
    assert reg.certificates_expire_due() == 1
    assert reg.certificates_expire_due() == 0
    statuses = dict(Certificate.objects.values_list("name", "status"))
    assert statuses == {"Ended": CS.EXPIRED, "Current": CS.ACTIVE, "Revoked": CS.REVOKED}
    assert kit.actions(ended)[-1] == "certificates.expired"
    assert Notice.objects.filter(topic="certificate.expired").count() == 2
    # Later on, the current one expires too.
    assert reg.certificates_expire_due(now=timezone.now() + timedelta(days=11)) == 1
    current.refresh_from_db()
    assert current.status == CS.EXPIRED


def test_reminders_60_30_and_7_days_before_once_each(dupont):
    certificate = kit.active_certificate(dupont, days_left=90)
    now = timezone.now()
    assert reg.certificate_reminders_send(now=now) == 0
    sent = []
    for day, expected in ((31, 60), (29.5, 30), (20, None), (6.9, 7), (1, None)):
        moment = certificate.not_after - timedelta(days=day)
        count = reg.certificate_reminders_send(now=moment)
        assert reg.certificate_reminders_send(now=moment) == 0  # idempotent
        if expected is None:
            assert count == 0
        else:
            assert count == 1
            sent.append(expected)
    assert sorted(
        CertificateReminder.objects.filter(certificate=certificate).values_list(
            "days_before", flat=True
        )
    ) == [7, 30, 60]
    assert sent == [60, 30, 7]
    notices = Notice.objects.filter(topic="certificate.reminder")
    # Three reminders to two people (the legal representative and the manager), not the employee.
    assert notices.count() == 6
    assert {notice.recipient for notice in notices} == {dupont.lr, dupont.manager}
    mails = OutboxMessage.objects.filter(template="certificates/reminder")
    assert mails.count() == 6
    assert {mail.language for mail in mails.filter(to=dupont.lr.email)} == {"fr"}
    assert {mail.language for mail in mails.filter(to=dupont.manager.email)} == {"en"}
    english = {mail.subject for mail in mails.filter(to=dupont.manager.email)}
    assert english == {
        f"[Comptoir] Certificate “ICS2 seal” expires in {days} days" for days in (60, 30, 7)
    }


def test_a_certificate_found_late_gets_only_the_nearest_reminder(dupont):
    certificate = kit.active_certificate(dupont, days_left=5)
    assert reg.certificate_reminders_send() == 1
    assert list(
        CertificateReminder.objects.filter(certificate=certificate).values_list(
            "days_before", flat=True
        )
    ) == [7]
    assert reg.certificate_reminders_send() == 0


def test_no_reminder_for_certificates_no_longer_active(dupont):
    certificate = kit.active_certificate(dupont, days_left=5)
    reg.certificate_revoke(person=dupont.lr, certificate=certificate, reason="Replaced")
    assert reg.certificate_reminders_send() == 0
    assert not CertificateReminder.objects.exists()


def test_the_task_and_the_command_run_both(dupont):
    kit.active_certificate(dupont, name="Ended", days_left=-1)
    kit.active_certificate(dupont, name="Soon", days_left=20)
    result = tasks.certificates_lifecycle.call()
    assert result == {"expired": 1, "reminded": 1}
    kit.active_certificate(dupont, name="Ended too", days_left=-2)
    call_command("certificates_lifecycle")
    assert Certificate.objects.filter(status=CS.EXPIRED).count() == 2
    assert CertificateReminder.objects.count() == 1
