from django.urls import path

from fangfan.web.views import legacy

urlpatterns: list = [path("", legacy.home, name="home")]
