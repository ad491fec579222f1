from django.apps import AppConfig


class DeclarationsConfig(AppConfig):
    name = "fangfan.declarations"
    label = "declarations"
    verbose_name = "农户自主申报"
    default_auto_field = "django.db.models.BigAutoField"
