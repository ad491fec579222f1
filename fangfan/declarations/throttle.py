"""A fixed-window counter in Django's cache (LocMem unless settings.CACHES says otherwise), for
limits on reads that store no row (the public status lookup)."""
from __future__ import annotations

from django.core.cache import cache

STATUS_LOOKUPS_PER_ADDRESS_PER_HOUR = 20


def allow(key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on `key`; False once more than `limit` hits fell in the current window."""
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def allow_status_lookup(client_ip: str | None) -> bool:
    return allow(f"declare-status:{client_ip or '-'}", STATUS_LOOKUPS_PER_ADDRESS_PER_HOUR, 3600)
