from django.urls import path

from comptoir.operators import mandate_views as views

app_name = "mandates"

urlpatterns = [
    path("companies/<int:operator_id>/mandates/", views.mandate_list, name="list"),
    path("companies/<int:operator_id>/mandates/new/", views.mandate_new, name="new"),
    path("companies/<int:operator_id>/mandates/new/check/", views.mandate_check, name="check"),
    path(
        "companies/<int:operator_id>/mandates/<uuid:mandate_id>/",
        views.mandate_detail,
        name="detail",
    ),
    path(
        "companies/<int:operator_id>/mandates/<uuid:mandate_id>/proposed/",
        views.mandate_done,
        name="done",
    ),
    path(
        "companies/<int:operator_id>/mandates/<uuid:mandate_id>/accept/",
        views.mandate_accept,
        name="accept",
    ),
    path(
        "companies/<int:operator_id>/mandates/<uuid:mandate_id>/decline/",
        views.mandate_decline,
        name="decline",
    ),
    path(
        "companies/<int:operator_id>/mandates/<uuid:mandate_id>/end/",
        views.mandate_end,
        name="end",
    ),
]
