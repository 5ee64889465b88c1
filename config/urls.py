from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from home import views as home_views

from . import api_index

# Error pages inside the site's layout (JSON on API paths): config/errors.py.
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

urlpatterns = [
    path("", home_views.home, name="home"),
    path("api/", api_index.api_root, name="api_root"),
    path("api/v1/", api_index.api_v1_root, name="api_v1_root"),
    # Failed logins here and on /admin/login/ are limited by the authentication backend (accounts/login_throttle.py).
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),  # the API token page
    path("admin/", admin.site.urls),
    path("", include("audit.urls")),
    path("", include("translation.urls")),
    path("", include("exports.urls")),
    path("", include("training.urls")),
    path("", include("evaluation.urls")),
    path("", include("study.urls")),
]
