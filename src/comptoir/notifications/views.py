from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from comptoir.notifications.models import OutboxMessage


def _debug_only() -> None:
    if not settings.DEBUG:
        raise Http404


def dev_outbox(request: HttpRequest) -> HttpResponse:
    """DEBUG only: every e-mail the portal wrote, newest first, links clickable."""
    _debug_only()
    page = Paginator(OutboxMessage.objects.all(), 25).get_page(request.GET.get("page"))
    return render(request, "notifications/dev_outbox.html", {"page": page})


def dev_outbox_message(request: HttpRequest, message_id: str) -> HttpResponse:
    _debug_only()
    message = get_object_or_404(OutboxMessage, id=message_id)
    return render(request, "notifications/dev_outbox_message.html", {"message": message})
