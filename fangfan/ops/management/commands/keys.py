"""fangfan keys init|status|rotate|prune: the key file of the encrypted ID and phone numbers.

    fangfan keys init                      create the key file (never over an existing one)
    fangfan keys status                    the key file, its current key, values per column and key
    fangfan keys rotate [--batch N]        finish an unfinished rotation, else add a new key (current)
                        [--new-key]        and re-encrypt everything under it; --new-key: add one even
                        [--resume]         when a rotation is unfinished; --resume: only finish one
                        [--prune]          then drop the old keys (when nothing is under them)
    fangfan keys prune                     drop the old keys nothing is under any more
    fangfan keys add                       add a new key, not current yet: restart the web processes
                                           (they then read it), then `rotate` makes it current

Without --as the command acts as the system itself (audit rows say 'system'); with
--as ADMINUSER as that user, who must be a system administrator."""
from __future__ import annotations

import sys

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.actors import acting_user
from fangfan.ops import keys

PRUNE_NOTE = ("注意: 删除旧密钥后, 此前的数据库备份中用旧密钥加密的号码将无法解密; "
              "请把删除前的密钥文件与这些备份一同保管, 直到备份过期 (docs/deploy.md)")


class Command(BaseCommand):
    help = "个人信息密钥: init 创建密钥文件 / status 查看 / rotate 轮换 (分批, 可中断续做) / prune 删除不再使用的旧密钥"

    def add_arguments(self, parser):
        common = {"dest": "as_user", "metavar": "ADMINUSER", "help": "以该系统管理员身份操作(记入变更记录)"}
        sub = parser.add_subparsers(dest="action", required=True, metavar="{init,status,add,rotate,prune}")

        init = sub.add_parser("init", help="创建密钥文件 (已存在则拒绝)")
        init.add_argument("--force", action="store_true",
                          help="数据库中已有加密数据时仍创建 (这些数据将无法解密; 仅用于确认放弃的数据)")

        sub.add_parser("status", help="密钥文件位置、当前密钥、各加密列在各密钥下的数量 (不解密)")

        add = sub.add_parser("add", help="预先添加新密钥 (暂不启用): 重启 web 服务后, 下一次 rotate 启用它")
        add.add_argument("--as", **common)

        rotate = sub.add_parser("rotate", help="轮换数据密钥: 分批重新加密, 中断后再次运行即续做")
        rotate.add_argument("--batch", type=int, default=keys.DEFAULT_BATCH,
                            help=f"每批(一个事务)重新加密的行数, 默认 {keys.DEFAULT_BATCH}")
        mode = rotate.add_mutually_exclusive_group()
        mode.add_argument("--new-key", action="store_true",
                          help="总是先添加新密钥, 即使上次轮换未完成 (如怀疑旧密钥泄露)")
        mode.add_argument("--resume", action="store_true", help="只完成未完成的轮换, 不添加新密钥")
        rotate.add_argument("--prune", action="store_true", help="完成后删除不再使用的旧密钥")
        rotate.add_argument("--as", **common)

        prune = sub.add_parser("prune", help="删除没有任何数据使用的旧密钥")
        prune.add_argument("--as", **common)

    def handle(self, *args, action, as_user=None, verbosity=1, **options):
        try:
            getattr(self, "_" + action)(as_user=as_user, verbosity=verbosity, **options)
        except keys.KeysError as exc:
            raise CommandError(str(exc)) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc) or "无权执行此操作") from None

    # ------------------------------------------------------------------ subcommands

    def _init(self, *, force, verbosity, **_):
        path = keys.keys_init(force=force)
        if verbosity:
            self.stdout.write(f"已创建密钥文件 {path} (权限 0600)。请立即另行备份它: 数据库备份中不含密钥, "
                              f"丢失密钥文件即丢失全部加密的证件号码和电话")

    def _status(self, *, verbosity, **_):
        status = keys.keys_status()
        self._print_status(status)

    def _print_status(self, status: keys.KeyStatus) -> None:
        write = self.stdout.write
        write(f"密钥文件: {status.where}")
        write(f"当前密钥: {status.current}")
        in_use = status.keys_in_use()
        staged = set(status.staged)
        shown = [k + ("(当前)" if k == status.current else "(待启用)" if k in staged else "" if k in in_use else "(未使用)")
                 for k in status.keys]
        write(f"密钥: {', '.join(shown)}")
        unknown = sorted(in_use - set(status.keys) - {keys.PLAIN})
        width = max(len(label) for label in status.counts)
        for label, counts in status.counts.items():
            parts = ", ".join(f"{k}: {n:,}" for k, n in sorted(counts.items())) or "无数据"
            write(f"  {label:<{width}}  {parts}")
        if unknown:
            write(f"错误: 数据使用了密钥文件中没有的密钥 {', '.join(unknown)}, 这些值无法解密")
        if status.under(keys.PLAIN):
            write(f"错误: {status.under(keys.PLAIN):,} 个值没有密钥编号 (未加密或已损坏)")
        if status.stale:
            write(f"尚有 {status.stale:,} 个值不在当前密钥下: 轮换未完成, 请运行 fangfan keys rotate 续做")
        else:
            write("全部数据都在当前密钥下")

    def _add(self, *, as_user, verbosity, **_):
        key_id = keys.keys_add(actor=acting_user(as_user))
        if verbosity:
            self.stdout.write(f"已添加新密钥 {key_id} (暂不启用)。请重启 web 服务 (使其能读取 {key_id}), "
                              f"然后运行 fangfan keys rotate")

    def _rotate(self, *, batch, new_key, resume, prune, as_user, verbosity, **_):
        actor = acting_user(as_user)
        with _progress(verbosity) as bar:
            outcome = keys.keys_rotate(actor=actor, batch=batch, new_key=new_key, resume_only=resume, prune=prune,
                                       progress=bar.advance, started=bar.start)
        if not verbosity:
            return
        if outcome.staged:
            self.stdout.write(f"已启用预先添加的密钥 {outcome.key} 为当前密钥 (旧密钥保留以便读取)")
        elif outcome.added:
            self.stdout.write(f"已添加新密钥 {outcome.key} 并设为当前密钥 (旧密钥保留以便读取); "
                              f"请尽快重启 web 服务, 使其能读取 {outcome.key}")
        elif outcome.total or not resume:
            self.stdout.write(f"续做未完成的轮换, 当前密钥 {outcome.key}")
        for label, n in outcome.reencrypted.items():
            self.stdout.write(f"  {label}: 重新加密 {n:,} 个")
        if outcome.total or outcome.added:
            self.stdout.write(f"重新加密 {outcome.total:,} 个值, 用时 {outcome.seconds:.1f}s")
        if outcome.remaining:
            self.stdout.write(f"尚有 {outcome.remaining:,} 个值在旧密钥下 (轮换期间由仍用旧密钥的进程写入): "
                              f"请重启 web 服务后再运行 fangfan keys rotate --resume")
        elif not outcome.total and not outcome.added:
            self.stdout.write("全部数据都已在当前密钥下, 无需续做")
        if outcome.pruned:
            self.stdout.write(f"已删除旧密钥 {', '.join(outcome.pruned)}")
            self.stderr.write(PRUNE_NOTE)
        elif prune and outcome.remaining:
            self.stdout.write("仍有数据在旧密钥下, 未删除旧密钥")

    def _prune(self, *, as_user, verbosity, **_):
        removed = keys.keys_prune(actor=acting_user(as_user))
        if not verbosity:
            return
        if removed:
            self.stdout.write(f"已删除旧密钥 {', '.join(removed)}")
            self.stderr.write(PRUNE_NOTE)
        else:
            self.stdout.write("没有可删除的旧密钥")


class _progress:
    """A rich progress bar on a terminal (values re-encrypted of those under old keys); silent otherwise."""

    def __init__(self, verbosity: int):
        self.enabled = verbosity > 0 and sys.stderr.isatty()
        self.bar = None
        self.task = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
            self.bar.__enter__()
        return self

    def start(self, status: keys.KeyStatus) -> None:
        if self.bar is not None:
            self.task = self.bar.add_task(f"重新加密 → {status.current}", total=status.stale)

    def advance(self, label: str, done: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=done, description=f"重新加密 {label}")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False
