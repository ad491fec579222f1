"""fangfan user add|list|disable|enable|set-password|token|otp-reset: user administration from the shell.

Without --as the command acts as the system itself (whoever has the shell is trusted);
with --as ADMINUSER it acts as that user, who must be a system administrator."""
from __future__ import annotations

import getpass
import os
import sys

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts import selectors, services
from fangfan.accounts.actors import acting_user
from fangfan.accounts.models import DEPARTMENTS, Role, User

PASSWORD_ENV = "FANGFAN_PASSWORD"
_FIELD = {"username": "用户名", "role": "角色", "region_code": "区划", "department": "部门", "password": "密码",
          "is_active": "状态", "name": "令牌", "__all__": ""}


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        parts = []
        for field, errors in exc.message_dict.items():
            label = _FIELD.get(field, field)
            parts.extend(f"{label}: {m}" if label else m for m in errors)
        return "; ".join(parts)
    return "; ".join(exc.messages)


class Command(BaseCommand):
    help = ("用户管理: add 新建 / list 列表 / disable 停用 / enable 启用 / set-password 重设密码 / token 创建接口令牌 / "
            "otp-reset 解除两步验证")

    def add_arguments(self, parser):
        common = {"dest": "as_user", "metavar": "ADMINUSER", "help": "以该系统管理员身份操作(记入变更记录)"}
        sub = parser.add_subparsers(dest="action", required=True, metavar="{add,list,disable,enable,set-password,token,otp-reset}")

        add = sub.add_parser("add", help="新建用户")
        add.add_argument("username", help="用户名")
        add.add_argument("--role", required=True, choices=Role.values,
                         help="角色: " + ", ".join(f"{v}={label}" for v, label in Role.choices))
        add.add_argument("--region", default="", help="管辖区划代码(12位, 与角色级别一致; 系统管理员留空)")
        add.add_argument("--department", default="", help="县行业部门: " + "、".join(DEPARTMENTS))
        add.add_argument("--name", default="", help="姓名")
        add.add_argument("--password", help=f"密码(不给则提示输入, 或读环境变量 {PASSWORD_ENV})")
        add.add_argument("--as", **common)

        lst = sub.add_parser("list", help="列出用户")
        lst.add_argument("--role", default="", choices=["", *Role.values])
        lst.add_argument("--region", default="", help="区划代码或前缀: 列出其下的用户")
        lst.add_argument("--query", default="", help="按用户名/姓名/部门查找")
        lst.add_argument("--as", **common)

        for name, text in (("disable", "停用用户(不能登录, 接口令牌失效)"), ("enable", "重新启用用户")):
            p = sub.add_parser(name, help=text)
            p.add_argument("username")
            p.add_argument("--reason", default="", help="事由(记入变更记录)")
            p.add_argument("--as", **common)

        pw = sub.add_parser("set-password", help="重设密码")
        pw.add_argument("username")
        pw.add_argument("--password", help=f"新密码(不给则提示输入, 或读环境变量 {PASSWORD_ENV})")
        pw.add_argument("--as", **common)

        tok = sub.add_parser("token", help="为用户创建接口令牌(只显示这一次)")
        tok.add_argument("username")
        tok.add_argument("--name", default="", help="令牌名称(如 用途)")
        tok.add_argument("--as", **common)

        otp = sub.add_parser("otp-reset", help="解除用户的两步验证(手机丢失等); 下次登录时重新绑定")
        otp.add_argument("username")
        otp.add_argument("--reason", default="", help="事由(记入变更记录)")
        otp.add_argument("--as", **common)

    def handle(self, *args, action, as_user=None, **options):
        actor = acting_user(as_user)
        handler = getattr(self, "_" + action.replace("-", "_"))
        try:
            handler(actor, **options)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc) or "无权执行此操作") from None

    # ------------------------------------------------------------------ subcommands

    def _add(self, actor, *, username, role, region, department, name, password, **_):
        password = self._password(password)
        user = services.user_create(actor=actor, username=username, role=role, region_code=region,
                                    department=department, password=password, full_name=name)
        self.stdout.write(f"已创建用户 {user.username}({user.get_role_display()}{self._where(user)})")

    def _list(self, actor, *, role, region, query, **_):
        users = selectors.user_list(actor=actor, query=query, role=role, region=region)
        rows = [("用户名", "姓名", "角色", "区划", "部门", "状态", "最近登录")]
        for u in users:
            rows.append((u.username, u.first_name or "-", u.get_role_display(), u.region_code or "-", u.department or "-",
                         "启用" if u.is_active else "停用",
                         u.last_login.strftime("%Y-%m-%d %H:%M") if u.last_login else "-"))
        widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            self.stdout.write("  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths)).rstrip())
        self.stdout.write(f"共 {len(rows) - 1} 个用户")

    def _disable(self, actor, *, username, reason, **_):
        user = services.user_disable(actor=actor, user=self._user(username), reason=reason)
        self.stdout.write(f"已停用用户 {user.username}")

    def _enable(self, actor, *, username, reason, **_):
        user = services.user_enable(actor=actor, user=self._user(username), reason=reason)
        self.stdout.write(f"已启用用户 {user.username}")

    def _set_password(self, actor, *, username, password, **_):
        user = self._user(username)
        services.user_set_password(actor=actor, user=user, password=self._password(password))
        self.stdout.write(f"已重设用户 {user.username} 的密码")

    def _token(self, actor, *, username, name, **_):
        user = self._user(username)
        token = services.api_token_create(actor=actor, user=user, name=name)
        self.stderr.write(f"用户 {user.username} 的新接口令牌(只显示这一次, 请妥善保存):")
        self.stdout.write(token)

    def _otp_reset(self, actor, *, username, reason, **_):
        user = self._user(username)
        removed = services.otp_reset(actor=actor, user=user, reason=reason)
        if removed:
            self.stdout.write(f"已解除用户 {user.username} 的两步验证; 下次登录时需重新绑定验证器")
        else:
            self.stdout.write(f"用户 {user.username} 未绑定验证器, 无需解除")

    # ------------------------------------------------------------------ helpers

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户不存在: {username}")
        return user

    def _password(self, given: str | None) -> str:
        if given:
            return given
        if os.environ.get(PASSWORD_ENV):
            return os.environ[PASSWORD_ENV]
        if not sys.stdin.isatty():
            raise CommandError(f"请用 --password 或环境变量 {PASSWORD_ENV} 提供密码(非交互运行时无法提示输入)")
        first = getpass.getpass("密码: ")
        if first != getpass.getpass("再输入一次: "):
            raise CommandError("两次输入的密码不一致")
        return first

    @staticmethod
    def _where(user: User) -> str:
        parts = [p for p in (user.region_code, user.department) if p]
        return (", " + " ".join(parts)) if parts else ""


def _width(text: str) -> int:
    """Display width: a CJK character takes two columns in a terminal."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
