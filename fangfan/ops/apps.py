from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "fangfan.ops"
    verbose_name = "运维"
