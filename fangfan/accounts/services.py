"""Writes of users and roles: system administrators only (or the shell without --as), each
atomic and audited. Passwords never reach an audit row."""
from __future__ import annotations

from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction

from fangfan.accounts.models import DEPARTMENTS, LEVEL_LABEL, ROLE_LEVEL, Role, User
from fangfan.accounts.permissions import may_manage_users, require
from fangfan.audit.services import audit_record
from fangfan.regions import codes as region_codes


def _require_admin(actor) -> None:
    # actor None = the system itself (a shell command without --as).
    if actor is not None:
        require(may_manage_users(actor), "只有系统管理员可以管理用户")


def _clean_account(role: str, region_code: str, department: str) -> tuple[str, str, str]:
    """Role, region and department checked together; every problem raised at once, by field."""
    errors: dict[str, str] = {}
    region_code = (region_code or "").strip()
    department = (department or "").strip()
    if role not in Role.values:
        errors["role"] = f"未知角色: {role}(可选: {', '.join(Role.values)})"
        raise ValidationError(errors)
    if role == Role.ADMIN:
        if region_code:
            errors["region_code"] = "系统管理员不设管辖区划, 请留空"
    else:
        level = ROLE_LEVEL[role]
        if not region_code:
            errors["region_code"] = f"{Role(role).label}账号须填写{LEVEL_LABEL[level]}区划代码(12位)"
        elif not (len(region_code) == 12 and region_codes.is_digits(region_code)):
            errors["region_code"] = "区划代码须为12位数字(不足12位的请在末尾补0)"
        elif region_codes.level_of(region_code) != level:
            errors["region_code"] = (
                f"{Role(role).label}账号的管辖区划须为{LEVEL_LABEL[level]}代码, "
                f"{region_code} 是{LEVEL_LABEL[region_codes.level_of(region_code)]}代码"
            )
        elif not _region_known(region_code):
            errors["region_code"] = f"区划代码 {region_code} 不在已导入的行政区划中"
    if role == Role.COUNTY_DEPT:
        if department not in DEPARTMENTS:
            errors["department"] = "县行业部门账号须选择部门: " + "、".join(DEPARTMENTS)
    else:
        department = ""  # only a 县行业部门 account belongs to a department
    if errors:
        raise ValidationError(errors)
    return role, region_code, department


def _region_known(code: str) -> bool:
    """The region exists in the tree once any region is loaded; before the first import
    (no tree yet) a county-or-lower code must at least name a GB/T 2260 county."""
    from fangfan.regions.models import Region

    if Region.objects.exists():
        return Region.objects.filter(code=code).exists()
    if region_codes.level_of(code) in ("province", "city"):
        return True
    return region_codes.is_known_county(code[:6])


def _clean_username(username: str) -> str:
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "请填写用户名"})
    if len(username) > 150:
        raise ValidationError({"username": "用户名不能超过150个字符"})
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise ValidationError({"username": "用户名只能包含字母、数字、汉字和 @ . + - _"}) from None
    return username


def _check_password(password: str, user: User) -> None:
    if not password:
        raise ValidationError({"password": "请填写密码"})
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": [_password_message(e) for e in exc.error_list]}) from None


# Django 5.2's own zh_Hans catalogue misses some validator messages (their msgids changed):
# say them in Chinese by error code.
_PASSWORD_MESSAGES = {
    "password_too_short": "密码太短, 至少需要 {min_length} 个字符",
    "password_too_similar": "密码与用户名或姓名太相似",
    "password_too_common": "密码太常见, 容易被猜到",
    "password_entirely_numeric": "密码不能全是数字",
}


def _password_message(error: ValidationError) -> str:
    template = _PASSWORD_MESSAGES.get(error.code or "")
    if template is None:
        return error.messages[0]
    return template.format(**(error.params or {}))


def _account(user: User) -> dict:
    return {"role": user.role, "region_code": user.region_code, "department": user.department}


@transaction.atomic
def user_create(*, actor, username: str, role: str, region_code: str = "", department: str = "",
                password: str, full_name: str = "") -> User:
    """A new login. The password is checked by Django's password validators."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}  # every problem of the form at once, by field

    def collect(check, *args):
        try:
            return check(*args)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            return None

    username = collect(_clean_username, username) or (username or "").strip()
    if username and "username" not in errors and User.objects.filter(username=username).exists():
        errors["username"] = [f"用户名 {username} 已存在"]
    account = collect(_clean_account, role, region_code, department) or (role, region_code, department)
    role, region_code, department = account
    user = User(username=username, role=role, region_code=region_code, department=department,
                first_name=(full_name or "").strip()[:150])
    collect(_check_password, password, user)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    audit_record(actor=actor, action="user.create", object_type="user", object_key=username,
                 region_code=region_code, after={**_account(user), "full_name": user.first_name})
    return user


def _locked(user: User) -> User:
    return User.objects.select_for_update().get(pk=user.pk)


@transaction.atomic
def user_update(*, actor, user: User, role: str, region_code: str = "", department: str = "",
                full_name: str | None = None) -> User:
    """Change a login's role, region and department (and name)."""
    _require_admin(actor)
    role, region_code, department = _clean_account(role, region_code, department)
    user = _locked(user)
    if actor is not None and actor.pk == user.pk and role != Role.ADMIN:
        raise ValidationError({"role": "不能取消自己的系统管理员角色(请由另一位管理员操作)"})
    before = {**_account(user), "full_name": user.first_name}
    user.role, user.region_code, user.department = role, region_code, department
    if full_name is not None:
        user.first_name = full_name.strip()[:150]
    after = {**_account(user), "full_name": user.first_name}
    if before != after:
        user.save(update_fields=["role", "region_code", "department", "first_name"])
        changed = [k for k in after if before[k] != after[k]]
        audit_record(actor=actor, action="user.update", object_type="user", object_key=user.username,
                     region_code=user.region_code or before["region_code"],
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return user


@transaction.atomic
def user_disable(*, actor, user: User, reason: str = "") -> User:
    """Stop a login (pages and API tokens alike); its history stays."""
    _require_admin(actor)
    user = _locked(user)
    if actor is not None and actor.pk == user.pk:
        raise ValidationError({"is_active": "不能停用自己的账号"})
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(actor=actor, action="user.disable", object_type="user", object_key=user.username,
                     region_code=user.region_code, before={"is_active": True}, after={"is_active": False},
                     comment=reason)
    return user


@transaction.atomic
def user_enable(*, actor, user: User, reason: str = "") -> User:
    _require_admin(actor)
    user = _locked(user)
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(actor=actor, action="user.enable", object_type="user", object_key=user.username,
                     region_code=user.region_code, before={"is_active": False}, after={"is_active": True},
                     comment=reason)
    return user


@transaction.atomic
def user_set_password(*, actor, user: User, password: str) -> User:
    """A new password, checked by Django's password validators (never written to the audit row)."""
    _require_admin(actor)
    user = _locked(user)
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="user.set_password", object_type="user", object_key=user.username,
                 region_code=user.region_code)
    return user


@transaction.atomic
def user_ensure(*, actor, username: str, role: str, region_code: str, password: str, department: str = "") -> tuple[User, bool]:
    """Create the user, or bring role/region in line (demo logins); returns (user, created).
    The password is only set for a new user, and not checked against the validators (demo
    passwords are short on purpose)."""
    _require_admin(actor)
    username = _clean_username(username)
    role, region_code, department = _clean_account(role, region_code, department)
    user, created = User.objects.get_or_create(
        username=username, defaults={"role": role, "region_code": region_code, "department": department}
    )
    before = _account(user)
    user.role, user.region_code, user.department = role, region_code, department
    if created:
        user.set_password(password)
    user.save()
    after = _account(user)
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
    if not user.is_active:
        raise ValidationError({"name": f"账号 {user.username} 已停用, 不能创建接口令牌"})
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


# ------------------------------------------------------------------------------ second factor (TOTP)
def _totp_device_model():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice


@transaction.atomic
def otp_device_start(*, actor, user: User):
    """The user's unconfirmed TOTP device (a new secret the first time): what the enrolment page
    shows until a code from the app confirms it. Only the user for themself."""
    from django.core.exceptions import PermissionDenied

    if actor is None or actor.pk != user.pk:
        raise PermissionDenied("两步验证只能由本人绑定")
    TOTPDevice = _totp_device_model()
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="身份验证器", confirmed=False)
    return device


@transaction.atomic
def otp_device_confirm(*, actor, user: User, token: str):
    """Confirm the pending device with a code from the app: from then on every login of the user
    asks for a code. Returns the device; a wrong code raises ValidationError (nothing changes)."""
    from django.core.exceptions import PermissionDenied

    if actor is None or actor.pk != user.pk:
        raise PermissionDenied("两步验证只能由本人绑定")
    TOTPDevice = _totp_device_model()
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        raise ValidationError({"token": "没有待绑定的验证器, 请刷新页面重新扫码"})
    token = (token or "").strip().replace(" ", "")
    if not (token.isdigit() and len(token) == device.digits):
        raise ValidationError({"token": f"请填写验证器上显示的 {device.digits} 位数字"})
    if not device.verify_token(token):
        raise ValidationError({"token": "验证码不正确或已过期, 请核对手机时间后输入新的验证码"})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # One confirmed device per user: other devices (older attempts) are dropped.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    audit_record(actor=actor, action="user.otp_enable", object_type="user", object_key=user.username,
                 region_code=user.region_code)
    return device


def otp_check(*, user: User, token: str):
    """The login's second step: the user's confirmed device if `token` is its current code, else
    ValidationError with the reason. Failures are throttled by django-otp (the wait doubles
    after each wrong code), which is why a wrong code is saved, not rolled back."""
    from fangfan.accounts.otp import confirmed_device

    device = confirmed_device(user)
    if device is None:
        raise ValidationError({"token": "本账号未绑定验证器"})
    token = (token or "").strip().replace(" ", "")
    allowed, details = device.verify_is_allowed()
    if not allowed:
        wait = (details or {}).get("locked_until")
        raise ValidationError({"token": "验证码错误次数过多, 请稍后再试" + (
            f"(请在 {timezone_local(wait):%H:%M:%S} 之后)" if wait else "")})
    if not (token.isdigit() and len(token) == device.digits) or not device.verify_token(token):
        raise ValidationError({"token": "验证码不正确或已过期, 请输入验证器上当前显示的数字"})
    return device


def timezone_local(value):
    from django.utils import timezone

    return timezone.localtime(value)


@transaction.atomic
def otp_reset(*, actor, user: User, reason: str = "") -> int:
    """Remove the user's TOTP devices (a lost phone): at the next login the user enrols again
    (or logs in with the password alone when the role does not require a second factor).
    System administrators only; returns how many devices were removed."""
    _require_admin(actor)
    user = _locked(user)
    removed, _ = _totp_device_model().objects.filter(user=user).delete()
    audit_record(actor=actor, action="user.otp_reset", object_type="user", object_key=user.username,
                 region_code=user.region_code, comment=reason, after={"devices_removed": removed})
    return removed
