from django.urls import path

from comptoir.accounts import views

app_name = "accounts"

urlpatterns = [
    path("terms/", views.terms, name="terms"),
    path("terms/accept/", views.terms_accept, name="terms_accept"),
    path("language/", views.language, name="language"),
    path("profile/", views.profile, name="profile"),
    path("profile/details/", views.profile_edit, name="profile_edit"),
    path("profile/export.json", views.data_export, name="export"),
    path("profile/api-tokens/", views.api_tokens, name="api_tokens"),
    path(
        "profile/api-tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"
    ),
    path("account/confirm-email/resend/", views.resend_confirmation, name="resend_confirmation"),
]
