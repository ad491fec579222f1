from django.apps import AppConfig


class LowIncomeConfig(AppConfig):
    name = "fangfan.lowincome"
    label = "lowincome"
    verbose_name = "低收入人口 (低保、特困)"
    default_auto_field = "django.db.models.BigAutoField"
