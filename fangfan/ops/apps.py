from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "fangfan.ops"
    verbose_name = "运维"

    def ready(self) -> None:
        from fangfan.ops import checks  # noqa: F401 - registers the deploy checks of the key file
