from django.urls import path

from comptoir.operators import views

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
    path("requests/", views.requests_mine, name="requests"),
    path("requests/<uuid:public_id>/withdraw/", views.request_withdraw, name="request_withdraw"),
]
