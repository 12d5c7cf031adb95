"""Write e-mails to the outbox and deliver them from background tasks; write in-app notices and
mark them read."""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core.bulk import rows_bulk_insert
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.notifications.selectors import notice_for_person, notice_link_is_safe

if TYPE_CHECKING:
    from comptoir.accounts.models import User
    from comptoir.operators.models import Operator

logger = logging.getLogger(__name__)


def outbox_enqueue(
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    language: str = "",
    template: str = "",
) -> OutboxMessage:
    """Store the message; its delivery task is queued only once the transaction commits."""
    from comptoir.notifications.tasks import deliver_outbox_message

    message = OutboxMessage.objects.create(
        to=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        language=language,
        template=template,
    )
    message_id = str(message.id)
    transaction.on_commit(lambda: deliver_outbox_message.enqueue(message_id))
    return message


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: base, 2×base, 4×base… capped at six hours."""
    seconds = settings.COMPTOIR_MAIL_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, 6 * 3600))


def _is_permanent(exc: BaseException) -> bool:
    """A 5xx answer means the server will never take this message: retrying is pointless."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reason in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def _claim_lease() -> timedelta:
    """How long a claimed message stays out of other workers' reach while it is being sent."""
    return timedelta(seconds=max(60, 3 * int(settings.EMAIL_TIMEOUT or 10)))


def outbox_deliver(*, message_id: str) -> OutboxMessage | None:
    """Send one message. Idempotent and race-safe: a message already sent, failed, or not due
    yet is left alone, and a worker claims the message (counting the attempt) in a short
    transaction before talking to the SMTP server, outside any transaction. On failure the next
    attempt is scheduled with exponential back-off, until COMPTOIR_MAIL_MAX_ATTEMPTS or a
    permanent (5xx) refusal marks it FAILED. Returns the message as it stands."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(id=message_id).first()
        if (
            message is None
            or message.status != OutboxMessage.Status.QUEUED
            or message.next_attempt_at > timezone.now()
        ):
            return message
        message.attempts += 1
        # Should this worker die mid-send, the message becomes due again after the lease.
        message.next_attempt_at = timezone.now() + _claim_lease()
        message.save(update_fields=["attempts", "next_attempt_at"])

    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": message.message_id, "Content-Language": message.language},
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    try:
        get_connection(fail_silently=False).send_messages([email])
    except (smtplib.SMTPException, OSError) as exc:
        return _record_failure(message=message, exc=exc)
    except Exception as exc:
        # Not the server's doing (a header that cannot be encoded, a broken backend): trying
        # again would fail the same way.
        logger.exception("E-mail %s cannot be sent", message.id)
        return _record_failure(message=message, exc=exc, permanent=True)
    with transaction.atomic():
        message.status = OutboxMessage.Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["status", "sent_at", "last_error"])
    return message


def _record_failure(
    *, message: OutboxMessage, exc: BaseException, permanent: bool = False
) -> OutboxMessage:
    with transaction.atomic():
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if (
            permanent
            or _is_permanent(exc)
            or message.attempts >= settings.COMPTOIR_MAIL_MAX_ATTEMPTS
        ):
            message.status = OutboxMessage.Status.FAILED
            logger.error(
                "Giving up on e-mail %s after %s attempt(s): %s",
                message.id,
                message.attempts,
                message.last_error,
            )
        else:
            message.next_attempt_at = timezone.now() + retry_delay(message.attempts)
            logger.warning(
                "E-mail %s not delivered (attempt %s), next attempt at %s: %s",
                message.id,
                message.attempts,
                message.next_attempt_at.isoformat(),
                message.last_error,
            )
        message.save(update_fields=["last_error", "status", "next_attempt_at"])
        if message.status == OutboxMessage.Status.QUEUED:
            _schedule_retry(message)
    return message


def _schedule_retry(message: OutboxMessage) -> None:
    from comptoir.notifications.tasks import deliver_outbox_message

    message_id = str(message.id)
    run_after = message.next_attempt_at
    transaction.on_commit(
        lambda: deliver_outbox_message.using(run_after=run_after).enqueue(message_id)
    )


def outbox_requeue_due() -> int:
    """Queue a delivery task for every queued message whose next attempt is due (a safety net
    for a task lost before it ran); returns how many."""
    from comptoir.notifications.tasks import deliver_outbox_message

    due = list(
        OutboxMessage.objects.filter(
            status=OutboxMessage.Status.QUEUED, next_attempt_at__lte=timezone.now()
        ).values_list("id", flat=True)
    )
    for message_id in due:
        deliver_outbox_message.enqueue(str(message_id))
    return len(due)


# --- In-app notices -----------------------------------------------------------------------------

TOPIC_MAX = Notice._meta.get_field("topic").max_length or 120
TITLE_MAX = Notice._meta.get_field("title").max_length or 255
LINK_MAX = Notice._meta.get_field("link").max_length or 300
SECTOR_MAX = Notice._meta.get_field("sector").max_length or 30
REFERENCE_MAX = Notice._meta.get_field("reference").max_length or 40


def notice_create(
    *,
    recipient: User,
    topic: str,
    title: str,
    body: str = "",
    link: str = "",
    operator: Operator | None = None,
    priority: str = Notice.Priority.NORMAL,
    sector: str = "",
    reference: str = "",
) -> Notice:
    """Store one notice for the recipient. Called inside the caller's transaction (the notice
    commits with the state change it tells about, or not at all); the title and body are already
    in the recipient's language. The link is a path inside the portal, never another site.
    `priority` is one of Notice.Priority, `sector` the area of work (company, customs, lodging…)
    and `reference` the number it is about (a request reference, an MRN), shown and searched on
    the dashboard."""
    topic = (topic or "").strip()
    title = " ".join((title or "").split())
    link = (link or "").strip()
    priority = (priority or "").strip()
    sector = (sector or "").strip()
    reference = (reference or "").strip()
    errors: dict[str, str] = {}
    if not topic or len(topic) > TOPIC_MAX:
        errors["topic"] = str(
            _("Enter a topic of %(max)s characters or fewer.") % {"max": TOPIC_MAX}
        )
    if not title:
        errors["title"] = str(_("Enter the title of the notice."))
    elif len(title) > TITLE_MAX:
        # A long subject line is cut rather than lost: the body carries the details.
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    if link and (len(link) > LINK_MAX or not notice_link_is_safe(link)):
        errors["link"] = str(_("Enter a link to a page of the portal, starting with a single /."))
    if priority not in Notice.Priority.values:
        errors["priority"] = str(_("Select the priority: low, normal or high."))
    if len(sector) > SECTOR_MAX:
        errors["sector"] = str(
            _("Enter a sector of %(max)s characters or fewer.") % {"max": SECTOR_MAX}
        )
    if len(reference) > REFERENCE_MAX:
        errors["reference"] = str(
            _("Enter a reference of %(max)s characters or fewer.") % {"max": REFERENCE_MAX}
        )
    if errors:
        raise ValidationError(errors)
    return Notice.objects.create(
        recipient=recipient,
        operator=operator,
        topic=topic,
        title=title,
        body=(body or "").strip(),
        link=link,
        priority=priority,
        sector=sector,
        reference=reference,
    )


def notice_mark_read(*, person: User, notice_id: uuid.UUID | str) -> Notice:
    """Mark one of the person's own notices read. Idempotent: a notice read before keeps the
    time it was first read. Notice.DoesNotExist (a 404) for anyone else's notice."""
    notice = notice_for_person(person=person, public_id=notice_id)
    if notice.read_at is None:
        now = timezone.now()
        # Conditional: of two concurrent clicks, the first time read wins.
        Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=now)
        notice.refresh_from_db(fields=["read_at"])
    return notice


def notices_mark_all_read(*, person: User) -> int:
    """Mark every unread notice of the person read; returns how many were unread."""
    return Notice.objects.filter(recipient=person, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- In bulk ------------------------------------------------------------------------------------

#: E-mails per delivery task when many are queued at once (several workers share them).
DELIVERY_BATCH = 500


def notices_bulk_create(
    *,
    rows: Sequence[tuple[int, str, str]],
    topic: str,
    link: str = "",
    priority: str = Notice.Priority.NORMAL,
    sector: str = "",
    reference: str = "",
) -> int:
    """Store one notice per (recipient id, title, body), all alike otherwise, in the caller's
    transaction — for news that goes to very many people at once (tens of thousands): written
    with COPY on PostgreSQL. Titles and bodies are already in each recipient's language."""
    rows_bulk_insert(
        Notice,
        constant={
            "operator": None,
            "topic": topic,
            "link": link,
            "priority": priority,
            "sector": sector,
            "reference": reference,
            "created_at": timezone.now(),
            "read_at": None,
        },
        varying=("public_id", "recipient", "title", "body"),
        rows=[(uuid.uuid4(), recipient, title, body) for recipient, title, body in rows],
    )
    return len(rows)


def outbox_bulk_enqueue(*, rows: Sequence[tuple[str, str, str, str]], template: str) -> list[str]:
    """Store one e-mail per (to, subject, text, language) in the caller's transaction, and queue
    their delivery once it commits, DELIVERY_BATCH e-mails per task. Returns their ids."""
    from comptoir.notifications.tasks import deliver_outbox_messages

    now = timezone.now()
    ids = [uuid.uuid4() for _row in rows]
    rows_bulk_insert(
        OutboxMessage,
        constant={
            "body_html": "",
            "template": template,
            "status": OutboxMessage.Status.QUEUED,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
            "sent_at": None,
        },
        varying=("id", "to", "subject", "body_text", "language"),
        rows=[(message_id, *row) for message_id, row in zip(ids, rows, strict=True)],
    )
    clear = [str(message_id) for message_id in ids]
    for start in range(0, len(clear), DELIVERY_BATCH):
        chunk = clear[start : start + DELIVERY_BATCH]
        transaction.on_commit(partial(deliver_outbox_messages.enqueue, chunk))
    return clear
