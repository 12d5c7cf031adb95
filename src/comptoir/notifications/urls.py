"""Development pages. Always routed: each view answers 404 unless DEBUG is on, so the guard is
checked on every request rather than once at import (and can be tested both ways)."""

from django.urls import path

from comptoir.notifications import views

urlpatterns = [
    path("dev/outbox/", views.dev_outbox, name="dev_outbox"),
    path("dev/outbox/<uuid:message_id>/", views.dev_outbox_message, name="dev_outbox_message"),
]
