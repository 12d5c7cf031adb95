"""Registering a certificate against an operator's EORI identity, and what happens to it after
(DESIGN procedure 7, issue 5 points 4 to 6): services that write and the selectors the pages and
the API read through.

The wizard: ``certificate_registration_start`` (step 1: name, description, purpose, key holder)
creates the certificate, has Comptoir issue and seal its registration PDF (SEALED);
``certificate_registration_upload`` (step 2) checks the signed PDF (or the issued PDF with a
detached CAdES signature, and for a non-key-holder the certificate file) with
``registration.registration_upload_check`` — a refusal changes nothing and the person may try
again — and on success, in one transaction, stores the files, moves SIGNING_PENDING then ACTIVE,
fills in the certificate's details, builds the proof of registration and tells the operator's
legal representative and managers. ``certificate_revoke`` ends an ACTIVE certificate with a
reason (the operator or customs); ``certificates_expire_due`` and ``certificate_reminders_send``
run from tasks (see tasks.py and the ``certificates_lifecycle`` command).

Who may do what: the operator's legal representative and managers (valid positions) register and
revoke; every valid member sees the operator's certificates; customs officers (a valid officer
position at an authority) see every certificate and may revoke any."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.certificates.inspect import certificate_fields, certificate_load
from comptoir.certificates.models import (
    Certificate,
    CertificateReminder,
    EoriIdentity,
    RegistrationDocument,
)
from comptoir.certificates.rights import registration_right_for
from comptoir.certificates.services import (
    CertificateStateError,
    NoEori,
    certificate_status_move,
    eori_identity_for,
)
from comptoir.notifications.models import Notice
from comptoir.notifications.selectors import notice_wants_email
from comptoir.notifications.services import notice_create, outbox_enqueue
from comptoir.operators.models import Operator, Position

logger = logging.getLogger(__name__)

CS = Certificate.Status
Kind = RegistrationDocument.Kind
SECTOR = "certificates"
NAME_MAX = 200
DESCRIPTION_MAX = 2000
REASON_MAX = 2000
#: Expiry reminders, in days before the end of validity.
REMINDER_DAYS = (60, 30, 7)
#: Uploads larger than this are refused unread (a registration PDF is a few kilobytes).
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
MANAGING_ROLES = (Position.Role.LEGAL_REPRESENTATIVE, Position.Role.MANAGER)
NOT_MANAGER_MESSAGE = _(
    "Only the company's legal representative and its managers can register certificates."
)
TOO_LARGE_MESSAGE = _("The file is larger than %(size)s MB.")


class CertificateNotAllowed(PermissionDenied):
    """The person may not do this (or not yet): ``code`` for machines, ``message`` for people.
    Nothing was changed."""

    def __init__(self, code: str, message: Any) -> None:
        self.code = code
        self.message = message
        super().__init__(str(message))


# --- Who may do what ------------------------------------------------------------------------------


def person_is_customs_officer(*, person: User) -> bool:
    """A valid officer position at an authority."""
    return bool(
        person.is_authenticated
        and person.is_active
        and Position.objects.filter(
            person=person,
            authority__isnull=False,
            role=Position.Role.OFFICER,
            status=Position.Status.VALID,
        ).exists()
    )


def person_manages_certificates(*, person: User, operator: Operator) -> bool:
    """The operator's legal representative or a manager, with a valid position."""
    return bool(
        person.is_authenticated
        and person.is_active
        and Position.objects.filter(
            person=person,
            operator=operator,
            role__in=MANAGING_ROLES,
            status=Position.Status.VALID,
        ).exists()
    )


def _member_operator_ids(person: User) -> QuerySet[Position, Any]:
    return Position.objects.filter(
        person=person, operator__isnull=False, status=Position.Status.VALID
    ).values("operator_id")


def certificate_operator_for_person(*, person: User, operator_id: int) -> Operator:
    """The operator whose certificates the person may see: one where they hold a valid position,
    or any operator for a customs officer. Operator.DoesNotExist (a 404) otherwise."""
    if not person.is_authenticated or not person.is_active:
        raise Operator.DoesNotExist
    operators = Operator.objects.filter(deleted_at__isnull=True)
    if person_is_customs_officer(person=person):
        return operators.get(pk=operator_id)
    return operators.filter(pk__in=_member_operator_ids(person)).get(pk=operator_id)


def registration_refusal(*, person: User, operator: Operator) -> CertificateNotAllowed | None:
    """Why the person may not start a registration for the operator now, or None."""
    if not person_manages_certificates(person=person, operator=operator):
        return CertificateNotAllowed(
            "not_manager",
            NOT_MANAGER_MESSAGE,
        )
    if operator.status != Operator.Status.ACTIVE:
        return CertificateNotAllowed(
            "operator_not_active", _("Certificates can only be registered for an active company.")
        )
    if not operator.eori:
        return CertificateNotAllowed(
            "no_eori",
            _("The company has no EORI number: certificates are registered against an EORI."),
        )
    if registration_right_for(operator=operator) is None:
        return CertificateNotAllowed(
            "no_right",
            _(
                "Your company has no access to certificate registration yet: ask customs for it "
                "and wait until an officer grants it."
            ),
        )
    return None


# --- Selectors -----------------------------------------------------------------------------------


def certificates_for_person(*, person: User) -> QuerySet[Certificate]:
    """Every certificate for a customs officer; for anyone else those of the operators where
    they hold a valid position. Newest first."""
    certificates = Certificate.objects.select_related(
        "identity__operator", "created_by", "modified_by", "revoked_by"
    )
    if not person.is_authenticated or not person.is_active:
        return certificates.none()
    if person_is_customs_officer(person=person):
        return certificates
    return certificates.filter(identity__operator_id__in=_member_operator_ids(person))


def certificate_for_person(
    *, person: User, certificate_id: uuid.UUID | str, operator_id: int | None = None
) -> Certificate:
    """One certificate the person may see (of that operator, when given); Certificate.DoesNotExist
    (a 404) for any other, or for an id that is not one."""
    try:
        public_id = uuid.UUID(str(certificate_id))
    except ValueError:
        raise Certificate.DoesNotExist from None
    certificates = certificates_for_person(person=person)
    if operator_id is not None:
        certificates = certificates.filter(identity__operator_id=operator_id)
    return certificates.get(public_id=public_id)


@dataclass(frozen=True)
class CertificateSearch:
    """Search criteria; empty ones do not filter. ``type`` is "qualified" or "non_qualified"."""

    text: str = ""
    name: str = ""
    serial: str = ""
    subject: str = ""
    issuer: str = ""
    valid_from_after: date | None = None
    valid_from_before: date | None = None
    valid_until_after: date | None = None
    valid_until_before: date | None = None
    type: str = ""
    purpose: str = ""
    status: str = ""


TYPES = ("qualified", "non_qualified")
TYPE_MESSAGE = _("Choose the type: qualified or non_qualified.")
PURPOSE_MESSAGE = _("Choose the purpose: signature or seal.")
STATUS_MESSAGE = _(
    "Choose a status: draft, sealed, signing_pending, active, refused, revoked or expired."
)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def certificates_search(
    certificates: QuerySet[Certificate], search: CertificateSearch
) -> QuerySet[Certificate]:
    """Narrow an already scoped queryset: texts match anywhere, case-insensitively (the serial
    without separators); date ranges include both days."""
    if search.text.strip():
        text = search.text.strip()
        certificates = certificates.filter(
            Q(name__icontains=text)
            | Q(serial__icontains=text.replace(":", "").replace(" ", ""))
            | Q(subject__icontains=text)
            | Q(issuer__icontains=text)
            | Q(sha256__iexact=text)
        )
    if search.name.strip():
        certificates = certificates.filter(name__icontains=search.name.strip())
    if search.serial.strip():
        serial = search.serial.strip().replace(":", "").replace(" ", "")
        certificates = certificates.filter(serial__icontains=serial)
    if search.subject.strip():
        certificates = certificates.filter(subject__icontains=search.subject.strip())
    if search.issuer.strip():
        certificates = certificates.filter(issuer__icontains=search.issuer.strip())
    if search.valid_from_after:
        certificates = certificates.filter(not_before__gte=_day_start(search.valid_from_after))
    if search.valid_from_before:
        certificates = certificates.filter(
            not_before__lt=_day_start(search.valid_from_before + timedelta(days=1))
        )
    if search.valid_until_after:
        certificates = certificates.filter(not_after__gte=_day_start(search.valid_until_after))
    if search.valid_until_before:
        certificates = certificates.filter(
            not_after__lt=_day_start(search.valid_until_before + timedelta(days=1))
        )
    if search.type == "qualified":
        certificates = certificates.filter(qualified=True)
    elif search.type == "non_qualified":
        certificates = certificates.filter(qualified=False)
    if search.purpose:
        certificates = certificates.filter(purpose=search.purpose)
    if search.status:
        certificates = certificates.filter(status=search.status)
    return certificates


def certificates_of_operator(
    *, person: User, operator: Operator, search: CertificateSearch | None = None
) -> QuerySet[Certificate]:
    """The operator's certificates as the person sees them, searched, newest first."""
    certificates = certificates_for_person(person=person).filter(identity__operator=operator)
    return certificates_search(certificates, search or CertificateSearch())


def identity_of(*, operator: Operator) -> EoriIdentity | None:
    return EoriIdentity.objects.filter(operator=operator).first()


def certificate_document(*, certificate: Certificate, kind: str) -> RegistrationDocument | None:
    return RegistrationDocument.objects.filter(certificate=certificate, kind=kind).first()


def certificate_documents(*, certificate: Certificate) -> dict[str, RegistrationDocument]:
    return {
        document.kind: document
        for document in RegistrationDocument.objects.filter(certificate=certificate).defer(
            "content"
        )
    }


def certificate_can_revoke(*, person: User, certificate: Certificate) -> bool:
    return certificate.status == CS.ACTIVE and (
        person_manages_certificates(person=person, operator=certificate.identity.operator)
        or person_is_customs_officer(person=person)
    )


def document_filename(*, certificate: Certificate, kind: str) -> str:
    """The name a download gets."""
    names: dict[str, str] = {
        Kind.ISSUED: f"registration-{certificate.registration_pdf_id}.pdf",
        Kind.SIGNED: f"registration-{certificate.registration_pdf_id}-signed.pdf",
        Kind.SIGNATURE: f"registration-{certificate.registration_pdf_id}.p7s",
        Kind.CERTIFICATE: f"certificate-{certificate.public_id}-uploaded",
        Kind.PROOF: f"proof-of-registration-{certificate.registration_pdf_id}.pdf",
    }
    return names[kind]


# --- Step 1: start -------------------------------------------------------------------------------


def _document_store(
    *, certificate: Certificate, kind: str, content: bytes, filename: str, person: User | None
) -> RegistrationDocument:
    return RegistrationDocument.objects.create(
        certificate=certificate,
        kind=kind,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        filename=(filename or document_filename(certificate=certificate, kind=kind))[:200],
        created_by=person,
    )


def _start_input(
    *, name: str, description: str, purpose: str, key_holder: Any
) -> tuple[str, str, bool]:
    errors: dict[str, list[Any]] = {}
    name = " ".join((name or "").split())
    description = (description or "").strip()
    if not name:
        errors["name"] = [_("Enter a name for the certificate, for example “ICS2 seal 2027”.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("Enter a name of %(max)s characters or fewer.") % {"max": NAME_MAX}]
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [
            _("Enter a description of %(max)s characters or fewer.") % {"max": DESCRIPTION_MAX}
        ]
    if purpose not in Certificate.Purpose.values:
        errors["purpose"] = [
            _("Choose what the certificate is for: an electronic signature or an electronic seal.")
        ]
    if not isinstance(key_holder, bool):
        errors["key_holder"] = [
            _("Say whether you hold the certificate's private key (yes or no).")
        ]
    if errors:
        raise ValidationError(errors)
    return name, description, bool(key_holder)


def certificate_registration_start(
    *,
    person: User,
    operator: Operator,
    name: str,
    description: str,
    purpose: str,
    key_holder: bool,
) -> Certificate:
    """Step 1 of the wizard: create the operator's EORI identity if needed and the certificate
    (DRAFT), issue its registration PDF sealed by Comptoir and keep it (SEALED) — one
    transaction. CertificateNotAllowed (without a granted right, or not the legal representative
    or a manager), ValidationError for bad input; nothing is written then."""
    from comptoir.certificates.registration import registration_pdf_build

    refusal = registration_refusal(person=person, operator=operator)
    if refusal is not None:
        raise refusal
    name, description, key_holder = _start_input(
        name=name, description=description, purpose=purpose, key_holder=key_holder
    )
    now = timezone.now()
    with transaction.atomic():
        try:
            identity = eori_identity_for(operator)
        except NoEori as exc:  # checked above; the operator lost its EORI meanwhile
            raise CertificateNotAllowed("no_eori", exc.args[0]) from exc
        certificate = Certificate.objects.create(
            identity=identity,
            name=name,
            description=description,
            purpose=purpose,
            key_holder=key_holder,
            status=CS.DRAFT,
            created_at=now,
            created_by=person,
            modified_at=now,
            modified_by=person,
        )
        audit_record(
            action="certificates.registration.start",
            actor=person,
            subject=certificate,
            data={
                "operator": operator.pk,
                "identity": str(identity.public_id),
                "name": name,
                "purpose": purpose,
                "key_holder": key_holder,
                "registration_pdf_id": str(certificate.registration_pdf_id),
            },
        )
        pdf = registration_pdf_build(certificate=certificate, person=person, now=now)
        document = _document_store(
            certificate=certificate, kind=Kind.ISSUED, content=pdf, filename="", person=person
        )
        certificate_status_move(
            certificate=certificate,
            target=CS.SEALED,
            actor=person,
            action="certificates.registration.sealed",
            data={"document_sha256": document.sha256},
        )
    return certificate


# --- Step 2: upload ------------------------------------------------------------------------------


def _refused(code: str, message: Any, field: str = "signed") -> ValidationError:
    return ValidationError({field: [ValidationError(message, code=code)]})


def refusal_code(exc: ValidationError) -> str:
    """The code of an upload refusal (the first error's)."""
    for errors in getattr(exc, "error_dict", {}).values():
        for error in errors:
            if error.code:
                return str(error.code)
    for error in getattr(exc, "error_list", []):
        if error.code:
            return str(error.code)
    return "invalid"


def _upload_refuse(
    *, person: User, certificate: Certificate, code: str, message: Any, field: str = "signed"
) -> ValidationError:
    """Record the refused attempt (who, which certificate, why) and return the error to raise.
    The audit event is the only row written: the certificate and its files stay as they were."""
    audit_record(
        action="certificates.registration.upload_refused",
        actor=person,
        subject=certificate,
        data={"code": code, "status": certificate.status},
    )
    return _refused(code, message, field)


def certificate_registration_upload(
    *,
    person: User,
    certificate: Certificate,
    signed: bytes,
    filename: str = "",
    detached_signature: bytes | None = None,
    uploaded_certificate: bytes | None = None,
    detached_filename: str = "",
    certificate_filename: str = "",
) -> Certificate:
    """Step 2: check the uploaded files (``registration_upload_check``). A refusal raises a
    ValidationError carrying the check's code and message and changes nothing (the status stays
    SEALED: the person may try again). On success, in one transaction: the files are kept,
    SIGNING_PENDING then ACTIVE with the certificate's details, the proof of registration is
    built and kept, the events audited and the legal representative and managers told.

    For a signed PDF (PAdES) ``signed`` is that PDF; for a detached CAdES signature ``signed`` is
    the issued PDF as downloaded and ``detached_signature`` the .p7s; a non-key-holder also gives
    the certificate file (``uploaded_certificate``, PEM or DER)."""
    from comptoir.certificates.registration import (
        registration_proof_build,
        registration_upload_check,
    )

    operator = certificate.identity.operator
    if not person_manages_certificates(person=person, operator=operator):
        raise CertificateNotAllowed(
            "not_manager",
            NOT_MANAGER_MESSAGE,
        )
    certificate.refresh_from_db()
    if certificate.status != CS.SEALED:
        raise CertificateStateError(status=certificate.status, target=CS.SIGNING_PENDING)
    for content, field in (
        (signed, "signed"),
        (detached_signature, "detached_signature"),
        (uploaded_certificate, "uploaded_certificate"),
    ):
        if content is not None and len(content) > UPLOAD_MAX_BYTES:
            raise _upload_refuse(
                person=person,
                certificate=certificate,
                code="too_large",
                message=TOO_LARGE_MESSAGE % {"size": UPLOAD_MAX_BYTES // (1024 * 1024)},
                field=field,
            )
    if not signed:
        raise _upload_refuse(
            person=person,
            certificate=certificate,
            code="empty",
            message=_("The selected file is empty."),
        )
    if not certificate.key_holder and not uploaded_certificate:
        raise _upload_refuse(
            person=person,
            certificate=certificate,
            code="certificate_missing",
            message=_(
                "Select the file of the certificate you register (PEM or DER): you said you do "
                "not hold its key, so it cannot be taken from the signature."
            ),
            field="uploaded_certificate",
        )
    issued = certificate_document(certificate=certificate, kind=Kind.ISSUED)
    if issued is None:  # SEALED always has its issued PDF; never trust it blindly though
        raise CertificateStateError(status=certificate.status, target=CS.SIGNING_PENDING)
    now = timezone.now()
    verdict = registration_upload_check(
        certificate=certificate,
        issued_pdf=bytes(issued.content),
        signed=signed,
        detached_signature=detached_signature,
        uploaded_certificate=uploaded_certificate,
        at=now,
    )
    if not verdict.ok or not verdict.certificate_der:
        field = "signed"
        if verdict.code.startswith("certificate") and uploaded_certificate:
            field = "uploaded_certificate"
        raise _upload_refuse(
            person=person,
            certificate=certificate,
            code=verdict.code or "refused",
            message=verdict.message,
            field=field,
        )
    cert = certificate_load(verdict.certificate_der)
    fields = certificate_fields(cert)
    if (
        Certificate.objects.filter(sha256=fields["sha256"], status=CS.ACTIVE)
        .exclude(pk=certificate.pk)
        .exists()
    ):
        raise _upload_refuse(
            person=person,
            certificate=certificate,
            code="already_registered",
            message=_(
                "This certificate is already registered and active. Revoke the other "
                "registration first, or register a different certificate."
            ),
        )
    trust = verdict.trust
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.status != CS.SEALED:
            raise CertificateStateError(status=locked.status, target=CS.SIGNING_PENDING)
        _document_store(
            certificate=certificate,
            kind=Kind.SIGNED,
            content=signed,
            filename=filename,
            person=person,
        )
        if detached_signature:
            _document_store(
                certificate=certificate,
                kind=Kind.SIGNATURE,
                content=detached_signature,
                filename=detached_filename,
                person=person,
            )
        if uploaded_certificate:
            _document_store(
                certificate=certificate,
                kind=Kind.CERTIFICATE,
                content=uploaded_certificate,
                filename=certificate_filename,
                person=person,
            )
        certificate_status_move(
            certificate=certificate,
            target=CS.SIGNING_PENDING,
            actor=person,
            action="certificates.registration.uploaded",
            data={
                "signed_sha256": hashlib.sha256(signed).hexdigest(),
                "detached": bool(detached_signature),
            },
        )
        certificate_status_move(
            certificate=certificate,
            target=CS.ACTIVE,
            actor=person,
            action="certificates.registration.activated",
            changes={
                **fields,
                "qualified": bool(trust.qualified) if trust is not None else False,
                "trust_service": (trust.service if trust is not None else "")[:300],
                "activated_at": now,
                "refusal_code": "",
                "refusal_reason": "",
            },
            data={
                "sha256": fields["sha256"],
                "serial": fields["serial"],
                "qualified": bool(trust.qualified) if trust is not None else False,
                "trust_service": trust.service if trust is not None else "",
            },
        )
        proof = registration_proof_build(certificate=certificate, now=now)
        _document_store(
            certificate=certificate, kind=Kind.PROOF, content=proof, filename="", person=person
        )
        _notify(certificate=certificate, event="activated")
    return certificate


# --- Revocation and expiry ------------------------------------------------------------------------


def certificate_revoke(*, person: User, certificate: Certificate, reason: str) -> Certificate:
    """Revoke an ACTIVE certificate, with a reason: the operator's legal representative or a
    manager, or a customs officer. One transaction with its audit event and notices;
    CertificateStateError when it is no longer ACTIVE, ValidationError without a reason."""
    operator = certificate.identity.operator
    officer = person_is_customs_officer(person=person)
    if not officer and not person_manages_certificates(person=person, operator=operator):
        raise CertificateNotAllowed(
            "not_manager",
            _(
                "Only the company's legal representative, its managers and customs officers can "
                "revoke a certificate."
            ),
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Enter the reason for revoking the certificate.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {"reason": [_("Enter a reason of %(max)s characters or fewer.") % {"max": REASON_MAX}]}
        )
    now = timezone.now()
    with transaction.atomic():
        certificate_status_move(
            certificate=certificate,
            target=CS.REVOKED,
            actor=person,
            action="certificates.revoked",
            changes={"revocation_reason": reason, "revoked_at": now, "revoked_by": person},
            data={"reason": reason, "by_customs": officer},
        )
        _notify(certificate=certificate, event="revoked")
    return certificate


def certificates_expire_due(*, now: datetime | None = None) -> int:
    """EXPIRED for every ACTIVE certificate whose validity ended before ``now``; each in its own
    transaction with its audit event and notices. Idempotent; returns how many expired."""
    now = now or timezone.now()
    count = 0
    due = Certificate.objects.filter(status=CS.ACTIVE, not_after__lt=now).select_related(
        "identity__operator"
    )
    for certificate in due.iterator():
        try:
            with transaction.atomic():
                certificate_status_move(
                    certificate=certificate,
                    target=CS.EXPIRED,
                    actor=None,
                    action="certificates.expired",
                    data={"not_after": certificate.not_after},
                )
                _notify(certificate=certificate, event="expired")
        except CertificateStateError:
            continue  # revoked or expired meanwhile
        count += 1
    return count


def certificate_reminders_send(*, now: datetime | None = None) -> int:
    """Remind the legal representative and managers 60, 30 and 7 days before an ACTIVE
    certificate's validity ends: a notice and an e-mail in each person's language. One
    CertificateReminder row per certificate and delay makes each reminder go out once whatever
    the runs; a certificate found late gets only the nearest delay. Returns how many were sent."""
    now = now or timezone.now()
    count = 0
    horizon = now + timedelta(days=max(REMINDER_DAYS))
    due = Certificate.objects.filter(
        status=CS.ACTIVE, not_after__gte=now, not_after__lte=horizon
    ).select_related("identity__operator")
    for certificate in due.iterator():
        assert certificate.not_after is not None
        days = min(
            day for day in REMINDER_DAYS if certificate.not_after <= now + timedelta(days=day)
        )
        if CertificateReminder.objects.filter(certificate=certificate, days_before=days).exists():
            continue
        try:
            with transaction.atomic():
                CertificateReminder.objects.create(
                    certificate=certificate, days_before=days, sent_at=now
                )
                audit_record(
                    action="certificates.reminder",
                    subject=certificate,
                    data={"days_before": days, "not_after": certificate.not_after},
                )
                _notify(certificate=certificate, event="reminder", days=days)
        except IntegrityError:
            continue  # another run sent it
        count += 1
    return count


# --- Notices and e-mails -------------------------------------------------------------------------


def _recipients(operator: Operator) -> Iterable[User]:
    return (
        User.objects.filter(
            is_active=True,
            positions__operator=operator,
            positions__role__in=MANAGING_ROLES,
            positions__status=Position.Status.VALID,
        )
        .distinct()
        .order_by("pk")
    )


def _texts(*, certificate: Certificate, event: str, days: int | None) -> tuple[str, str, str]:
    """Title, body and e-mail subject, in the active language."""
    values = {
        "name": certificate.name,
        "operator": certificate.identity.operator.name,
        "eori": certificate.identity.identifier,
        "serial": certificate.serial,
        "sha256": certificate.sha256,
        "until": f"{certificate.not_after:%Y-%m-%d %H:%M} UTC" if certificate.not_after else "",
        "days": days or 0,
        "reason": certificate.revocation_reason,
    }
    if event == "activated":
        title = gettext("Certificate “%(name)s” registered: it is active") % values
        body = (
            gettext(
                "The certificate “%(name)s” of %(operator)s (EORI %(eori)s) is registered and "
                "active until %(until)s. SHA-256: %(sha256)s."
            )
            % values
        )
    elif event == "revoked":
        title = gettext("Certificate “%(name)s” revoked") % values
        body = (
            gettext(
                "The certificate “%(name)s” of %(operator)s (EORI %(eori)s) was revoked: it can "
                "no longer be used for the company. Reason: %(reason)s"
            )
            % values
        )
    elif event == "expired":
        title = gettext("Certificate “%(name)s” expired") % values
        body = (
            gettext(
                "The certificate “%(name)s” of %(operator)s (EORI %(eori)s) reached the end of "
                "its validity on %(until)s: it can no longer be used. Register its successor."
            )
            % values
        )
    else:
        title = gettext("Certificate “%(name)s” expires in %(days)s days") % values
        body = (
            gettext(
                "The certificate “%(name)s” of %(operator)s (EORI %(eori)s) is valid until "
                "%(until)s. Register its successor before then so that your messages are still "
                "accepted."
            )
            % values
        )
    return title, body, "[Comptoir] " + title


def _notify(*, certificate: Certificate, event: str, days: int | None = None) -> None:
    """Tell the operator's legal representative and managers, each in their language, in the
    caller's transaction: an in-app notice (certificates sector, the serial as reference) and an
    e-mail in the outbox unless they chose "only in the portal" for their companies' news."""
    operator = certificate.identity.operator
    path = reverse(
        "certificates:detail",
        kwargs={"operator_id": operator.pk, "certificate_id": certificate.public_id},
    )
    priority = Notice.Priority.HIGH if event in ("revoked", "expired") else Notice.Priority.NORMAL
    if event == "reminder" and days is not None and days <= 7:
        priority = Notice.Priority.HIGH
    for person in _recipients(operator):
        language = person.language or settings.LANGUAGE_CODE
        with translation.override(language):
            title, body, subject = _texts(certificate=certificate, event=event, days=days)
            email_body = (
                gettext("Hello %(name)s,") % {"name": person.get_full_name() or person.username}
                + "\n\n"
                + body
                + "\n\n"
                + gettext("The certificate:")
                + "\n"
                + settings.COMPTOIR_BASE_URL
                + path
                + "\n"
            )
        notice_create(
            recipient=person,
            topic=f"certificate.{event}",
            title=title,
            body=body,
            link=path,
            operator=operator,
            priority=priority,
            sector=SECTOR,
            reference=(certificate.serial or str(certificate.registration_pdf_id))[:40],
        )
        if person.email and notice_wants_email(person=person, category="company"):
            outbox_enqueue(
                to=person.email,
                subject=" ".join(subject.split()),
                body_text=email_body,
                language=language,
                template=f"certificates/{event}",
            )
