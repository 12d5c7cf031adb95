from django.contrib import admin
from django.urls import include, path

from comptoir.accounts import views as account_views
from comptoir.api import api
from comptoir.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Before allauth's own route: a used or expired link answers the same page on POST as on GET.
    path(
        "accounts/confirm-email/<str:key>/",
        account_views.confirm_email,
        name="account_confirm_email",
    ),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("audit/", include("comptoir.audit.urls")),
    path("", include("comptoir.accounts.urls")),
    path("", include("comptoir.approvals.urls")),
    path("", include("comptoir.operators.invitation_urls")),
    path("", include("comptoir.operators.directory_urls")),
    path("", include("comptoir.operators.roles_urls")),
    path("", include("comptoir.operators.mandate_urls")),
    path("", include("comptoir.operators.acting_urls")),
    path("", include("comptoir.operators.urls")),
    path("", include("comptoir.certificates.urls")),
    path("", include("comptoir.continuity.urls")),
    path("", include("comptoir.lodging.urls")),
    path("", include("comptoir.b2g.urls")),
    path("", include("comptoir.core.urls")),
    # Development pages: each view answers 404 unless DEBUG is on.
    path("", include("comptoir.notifications.urls")),
]
