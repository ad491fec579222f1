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
