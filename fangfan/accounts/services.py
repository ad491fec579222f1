"""Writes of users and roles (system administrators only, audited)."""
from __future__ import annotations

from django.db import transaction

from fangfan.accounts.models import Role, User
from fangfan.audit.services import audit_record


@transaction.atomic
def user_ensure(*, actor, username: str, role: str, region_code: str, password: str, department: str = "") -> tuple[User, bool]:
    """Create the user, or bring role/region in line; returns (user, created)."""
    if role not in Role.values:
        raise ValueError(f"未知角色: {role}")
    user, created = User.objects.get_or_create(
        username=username, defaults={"role": role, "region_code": region_code, "department": department}
    )
    before = {"role": user.role, "region_code": user.region_code, "department": user.department}
    user.role, user.region_code, user.department = role, region_code, department
    if created:
        user.set_password(password)
    user.save()
    after = {"role": role, "region_code": region_code, "department": department}
    if created or before != after:
        audit_record(
            actor=actor,
            action="user.create" if created else "user.update",
            object_type="user",
            object_key=username,
            region_code=region_code,
            before=None if created else before,
            after=after,
        )
    return user, created


def _token_digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor, user: User, name: str = "") -> str:
    """A new API token for `user` (the user itself or an administrator); returns the token,
    which is not stored and cannot be shown again."""
    import secrets

    from django.core.exceptions import PermissionDenied

    if actor is not None and actor.pk != user.pk and getattr(actor, "role", None) != Role.ADMIN:
        raise PermissionDenied("只能为本人或由系统管理员创建接口令牌")
    token = "ff_" + secrets.token_urlsafe(32)
    from fangfan.accounts.models import ApiToken

    ApiToken.objects.create(user=user, name=name, digest=_token_digest(token))
    audit_record(actor=actor, action="user.api_token", object_type="user", object_key=user.username,
                 region_code=user.region_code, after={"name": name})
    return token


def api_token_user(token: str) -> User | None:
    """The active user of a token, or None (unknown, revoked, or user disabled)."""
    from django.utils import timezone

    from fangfan.accounts.models import ApiToken

    row = ApiToken.objects.select_related("user").filter(digest=_token_digest(token), revoked_at__isnull=True).first()
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
