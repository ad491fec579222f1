from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "fangfan.common"
    label = "common"
