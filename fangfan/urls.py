from django.contrib.auth import views as auth_views
from django.urls import include, path

from fangfan.api.main import api
from fangfan.web.views import accounts as account_views
from fangfan.web.views import audit as audit_views
from fangfan.web.views import cases, dashboard, declare, departments, households, home, params, users, warnings
from fangfan.web.views import lowincome as lowincome_views

urlpatterns = [
    path("login/", account_views.login_view, name="login"),
    path("", include(account_views.urlpatterns)),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", api.urls),
    path("", include(home.urlpatterns)),
    path("", include(households.urlpatterns)),
    path("", include(cases.urlpatterns)),
    path("", include(params.urlpatterns)),
    path("", include(declare.urlpatterns)),
    path("", include(dashboard.urlpatterns)),
    path("", include(users.urlpatterns)),
    path("", include(departments.urlpatterns)),
    path("", include(warnings.urlpatterns)),
    path("", include(lowincome_views.urlpatterns)),
    path("", include("fangfan.web.views.reports")),
    path("", include(audit_views.urlpatterns)),
    path("workflows/", include("fangfan.workflows.urls")),
]
