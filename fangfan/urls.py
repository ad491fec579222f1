from django.contrib.auth import views as auth_views
from django.urls import include, path

from fangfan.api.main import api
from fangfan.web.views import cases, dashboard, declare, departments, households, home, params, users

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
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
    path("workflows/", include("fangfan.workflows.urls")),
]
