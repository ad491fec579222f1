from django.apps import AppConfig


class DepartmentsConfig(AppConfig):
    name = "fangfan.departments"
    label = "departments"
    verbose_name = "部门数据"
    default_auto_field = "django.db.models.BigAutoField"
