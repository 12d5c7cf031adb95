from django.urls import path  # noqa: F401

app_name = "b2g"

urlpatterns: list = []
