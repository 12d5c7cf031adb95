from django.urls import path

from comptoir.operators import roles_views

app_name = "roles"

urlpatterns = [
    path("roles/", roles_views.roles_list, name="list"),
    path("roles/new/", roles_views.role_new, name="new"),
    path("roles/requested/<uuid:public_id>/", roles_views.role_requested, name="requested"),
]
