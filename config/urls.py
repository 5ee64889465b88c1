from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from audit import login_limit
from audit import views as audit_views

urlpatterns = [
    path("", audit_views.home, name="home"),
    # Before Django's own login view: the same page, with a limit on failed attempts.
    path("accounts/login/", login_limit.login, name="login"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("audit.urls")),
    path("", include("translation.urls")),
    path("", include("audit.urls_export")),
    path("", include("training.urls")),
    path("", include("study.urls")),
]
