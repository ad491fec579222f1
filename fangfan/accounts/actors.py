"""Who a shell command acts as."""
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def acting_user(username: str | None):
    """The user named with --as; without it the system itself (audit rows say 'system')."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"用户不存在: {username}")
    if not user.is_active:
        raise CommandError(f"用户已停用: {username}")
    return user
