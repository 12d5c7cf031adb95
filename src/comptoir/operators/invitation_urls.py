from django.urls import path

from comptoir.operators import invitation_views as views

app_name = "invitations"

urlpatterns = [
    path("companies/<int:operator_id>/invite/", views.invite, name="invite"),
    path(
        "companies/<int:operator_id>/invitations/<uuid:public_id>/revoke/",
        views.revoke,
        name="revoke",
    ),
    path("invitations/", views.pending, name="pending"),
    path("invitations/<str:token>/", views.accept, name="accept"),
    path("companies/attach/", views.attach, name="attach"),
    path("companies/attach/confirm/", views.attach_confirm, name="attach_confirm"),
    path("companies/attach/done/", views.attach_done, name="attach_done"),
]
