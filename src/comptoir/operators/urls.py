from django.urls import path

from comptoir.operators import activity_views, views

app_name = "operators"

urlpatterns = [
    path("companies/register/", views.register_start, name="register"),
    path("companies/register/eori/", views.register_eori, name="register_eori"),
    path("companies/register/operations/", views.register_operations, name="register_operations"),
    path("companies/register/company/", views.register_company, name="register_company"),
    path("companies/register/contact/", views.register_contact, name="register_contact"),
    path("companies/register/check/", views.register_check, name="register_check"),
    path("companies/register/done/", views.register_done, name="register_done"),
    path("companies/join/", views.join, name="join"),
    path("companies/join/done/", views.join_done, name="join_done"),
    path("companies/", views.companies, name="companies"),
    path("companies/<int:operator_id>/", views.company, name="company"),
    path(
        "companies/<int:operator_id>/operations/history/",
        views.operations_history,
        name="operations_history",
    ),
    path(
        "companies/<int:operator_id>/operations/change/",
        views.operations_change,
        name="operations_change",
    ),
    path(
        "companies/<int:operator_id>/members/<int:position_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "companies/<int:operator_id>/members/<int:position_id>/suspend/",
        views.member_suspend,
        name="member_suspend",
    ),
    path(
        "companies/<int:operator_id>/members/<int:position_id>/reinstate/",
        views.member_reinstate,
        name="member_reinstate",
    ),
    path(
        "companies/<int:operator_id>/members/<int:position_id>/end/",
        views.member_end,
        name="member_end",
    ),
    path(
        "companies/<int:operator_id>/activities/add/",
        activity_views.activity_add,
        name="activity_add",
    ),
    path(
        "companies/<int:operator_id>/activities/<int:activity_id>/remove/",
        activity_views.activity_remove,
        name="activity_remove",
    ),
    path("companies/<int:operator_id>/leave/", views.leave, name="leave"),
    path("companies/<int:operator_id>/transfer/", views.transfer, name="transfer"),
    path("companies/<int:operator_id>/merge/", views.merge, name="merge"),
    path("companies/<int:operator_id>/delete/", views.delete, name="delete"),
    path("space/", views.space, name="space"),
    path("requests/", views.requests_mine, name="requests"),
    path("requests/<uuid:public_id>/withdraw/", views.request_withdraw, name="request_withdraw"),
]
