from django.urls import path

from comptoir.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.people, name="people"),
    path("people/<int:person_id>/", views.person_events, name="person_events"),
]
