from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("token/", views.api_token, name="token"),
    path("token/create/", views.create_api_token, name="create_token"),
    path("token/revoke/", views.revoke_api_token, name="revoke_token"),
]
