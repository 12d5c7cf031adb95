from django.urls import path

from comptoir.approvals import views

app_name = "approvals"

urlpatterns = [
    path("requests/queue/", views.queue, name="queue"),
    path("requests/<uuid:public_id>/", views.detail, name="detail"),
    path("requests/<uuid:public_id>/reassign/", views.reassign, name="reassign"),
]
