from django.urls import path

from fangfan.web.views import legacy

urlpatterns: list = [path("households/<str:number>/", legacy.household_detail, name="household_detail")]
