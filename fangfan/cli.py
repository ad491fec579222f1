"""The `fangfan` console script: Django's management commands plus fangfan's own
(import, export, generate, evaluate, screen, params, calc, case, ...)."""
import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangfan.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fangfan", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
