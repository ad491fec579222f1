"""The lock-out check of django-axes, in front of the password check (settings.AUTHENTICATION_BACKENDS)."""
from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out user name before its password is checked. A call without a request
    is no web login (code or a test calling authenticate() itself): it is not counted and
    goes on to the password check, where axes would otherwise raise."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
