"""The person's in-app notices (namespace "notifications"), and development pages: the latter are
always routed but each answers 404 unless DEBUG is on, so the guard is checked on every request
rather than once at import (and can be tested both ways)."""

from django.urls import include, path

from comptoir.notifications import views

notice_patterns = (
    [
        path("dashboard/", views.dashboard, name="dashboard"),
        path("notices/", views.notices, name="notices"),
        path("notices/read-all/", views.notices_read_all, name="notices_read_all"),
        path("notices/preferences/", views.preferences, name="preferences"),
        path("notices/<uuid:public_id>/open/", views.notice_open, name="notice_open"),
        path("notices/<uuid:public_id>/read/", views.notice_read, name="notice_read"),
    ],
    "notifications",
)

urlpatterns = [
    path("", include(notice_patterns)),
    path("dev/outbox/", views.dev_outbox, name="dev_outbox"),
    path("dev/outbox/<uuid:message_id>/", views.dev_outbox_message, name="dev_outbox_message"),
]
