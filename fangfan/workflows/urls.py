from django.urls import path

from fangfan.workflows import views

app_name = "workflows"
urlpatterns = [
    path("notices/<str:village_code>/", views.notice_list, name="notice_list"),
]
