from django.urls import path

from comptoir.lodging import views

app_name = "lodging"

urlpatterns = [
    path(
        "companies/<int:operator_id>/declarations/",
        views.declaration_list,
        name="list",
    ),
    path(
        "companies/<int:operator_id>/declarations/new/",
        views.declaration_new,
        name="new",
    ),
    path(
        "companies/<int:operator_id>/declarations/<str:mrn>/",
        views.declaration_detail,
        name="detail",
    ),
    path(
        "companies/<int:operator_id>/declarations/<str:mrn>/lodged/",
        views.declaration_lodged,
        name="lodged",
    ),
    path(
        "companies/<int:operator_id>/declarations/<str:mrn>/receipt.pdf",
        views.declaration_receipt,
        name="receipt",
    ),
]
