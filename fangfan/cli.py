"""The `fangfan` console script: Django's management commands plus fangfan's own
(import, export, generate, evaluate, screen, params, calc, case, ...)."""
import os
import sys


# Polars' allocator (jemalloc) returns freed memory through MADV_FREE by default; the batch
# commands (evaluate, screen, import) free and reallocate gigabytes, and returning pages at
# once instead cuts about 1.2 s of kernel CPU at 1M households (peak RSS unchanged). Read
# when Polars is first imported, so it is set before anything imports it; an explicit setting wins.
JEMALLOC_CONF = "dirty_decay_ms:2000,muzzy_decay_ms:0"


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangfan.settings")
    os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC_CONF)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fangfan", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
