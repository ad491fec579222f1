"""What each role may do (roles.md), in one place. Region scope is fangfan.regions.scope;
this module answers the role half of every check. Services call these and raise
PermissionDenied with a Chinese reason; views and API handlers only translate that."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied

from fangfan.accounts.models import Role
from fangfan.regions.scope import prefix_for

# Roles that work on cases (W1-W5: 县民政局 the 低保/特困 ones); the system administrator makes no case decision.
CASE_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE})
# Roles that write the registry (register and update households, import files).
REGISTRY_WRITERS = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR})
# Roles that may see a full resident ID (each view logged with its reason): those who verify
# households in person or approve them. Supervisors and departments see masked IDs.
FULL_ID_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR, Role.COUNTY_CA})
# Who sets which county parameters: 县民政局 the dibao.* family, 县乡村振兴局 the rest.
DIBAO_PARAMETER_PREFIX = "dibao."


def role_of(actor) -> str | None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return getattr(actor, "role", None)


def may_read_households(actor) -> bool:
    return prefix_for(actor) is not None


def may_manage_users(actor) -> bool:
    return role_of(actor) == Role.ADMIN


def may_write_registry(actor) -> bool:
    return role_of(actor) in REGISTRY_WRITERS


def may_work_cases(actor) -> bool:
    return role_of(actor) in CASE_ROLES


def may_view_full_id(actor) -> bool:
    return role_of(actor) in FULL_ID_ROLES


def may_set_parameter(actor, name: str) -> bool:
    role = role_of(actor)
    if name.startswith(DIBAO_PARAMETER_PREFIX):
        return role == Role.COUNTY_CA
    return role == Role.COUNTY_RR


def require(allowed: bool, reason: str) -> None:
    if not allowed:
        raise PermissionDenied(reason)
