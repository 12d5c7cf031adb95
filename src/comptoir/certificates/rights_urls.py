"""The pages where an operator asks customs for access to certificate registration. A plain list,
appended by comptoir.certificates.urls into the "certificates" namespace."""

from django.urls import path

from comptoir.certificates import rights_views as views

urlpatterns = [
    path(
        "companies/<int:operator_id>/certificates/access/",
        views.access_request,
        name="access_request",
    ),
    path(
        "companies/<int:operator_id>/certificates/access/requested/<uuid:right_id>/",
        views.access_requested,
        name="access_requested",
    ),
]
