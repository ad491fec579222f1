from django.contrib.auth import views as auth_views
from django.urls import include, path

from fangfan.web import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("households/<str:number>/", views.household_detail, name="household_detail"),
    path("workflows/", include("fangfan.workflows.urls")),
]
