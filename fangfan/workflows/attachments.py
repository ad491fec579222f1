"""Attachments of case steps: photos or scans of signed forms (附件1, 附件2, 附件4/5 ...).

The type is decided by the file's first bytes, not by the name or the browser's declared
content type (a renamed HTML file must not be served as an image). Files are stored once
per content (sha256) under MEDIA_ROOT/attachments/<yyyy>/; the row keeps who uploaded what,
when, for which household and case. Reads are scoped by the household's village."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fangfan.accounts.permissions import CASE_ROLES
from fangfan.audit.services import audit_record
from fangfan.regions.scope import in_scope, scope_queryset
from fangfan.workflows.errors import GuardFailed, NotAllowed
from fangfan.workflows.models import Attachment

# Magic bytes of the accepted types (settings.ATTACHMENT_TYPES).
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
TYPE_LABEL = {"image/jpeg": "JPG", "image/png": "PNG", "application/pdf": "PDF"}


def sniff(head: bytes) -> str | None:
    for magic, content_type in MAGIC:
        if head.startswith(magic):
            return content_type
    return None


def _head(upload) -> bytes:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return head


def check_upload(upload) -> str | None:
    """The Chinese reason an uploaded file is refused, or None."""
    name = getattr(upload, "name", "") or "文件"
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        return f"「{name}」超过 {limit / 1024 / 1024:.0f} MB 的大小限制"
    if upload.size == 0:
        return f"「{name}」是空文件"
    kind = sniff(_head(upload))
    allowed = "、".join(TYPE_LABEL.get(t, t) for t in settings.ATTACHMENT_TYPES)
    if kind is None or kind not in settings.ATTACHMENT_TYPES:
        return f"「{name}」不是允许的文件类型 (只接受 {allowed})"
    return None


def _store_file(upload, digest_target: dict) -> str:
    """Write the upload under MEDIA_ROOT/attachments/<yyyy>/<sha><ext>; return the relative path."""
    sha = hashlib.sha256()
    media = Path(settings.MEDIA_ROOT)
    folder = media / "attachments" / f"{timezone.localdate():%Y}"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            upload.seek(0)
            for chunk in upload.chunks():
                sha.update(chunk)
                out.write(chunk)
        digest = sha.hexdigest()
        ext = settings.ATTACHMENT_TYPES[digest_target["content_type"]]
        final = folder / f"{digest}{ext}"
        if final.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    digest_target["sha256"] = digest
    return str(final.relative_to(media))


def attachment_store(*, actor, household, file, case=None) -> Attachment:
    """Store one uploaded file for a household (and a case); refused with a Chinese reason when
    the type or size is not allowed or the household is outside the actor's region."""
    if actor is None or getattr(actor, "role", None) not in CASE_ROLES:
        raise NotAllowed("附件须由办理案件的账号上传")
    if not in_scope(actor, household.village_id):
        raise NotAllowed("该户不在本账号的管辖范围内")
    if case is not None and case.household_id != household.pk:
        raise GuardFailed("附件所属案件与农户不符")
    problem = check_upload(file)
    if problem:
        raise GuardFailed(problem)
    info = {"content_type": sniff(_head(file))}
    with transaction.atomic():
        path = _store_file(file, info)
        attachment = Attachment.objects.create(
            household=household, case=case, uploaded_by=actor, original_name=Path(file.name or "附件").name[:200],
            content_type=info["content_type"], size=file.size, sha256=info["sha256"], path=path,
        )
        audit_record(
            actor=actor, action="attachment.store", object_type="attachment", object_key=str(attachment.pk),
            after={"name": attachment.original_name, "content_type": attachment.content_type, "size": attachment.size,
                   "sha256": attachment.sha256, "case": case.pk if case else None},
            household_key=household.household_number, region_code=household.village_id,
        )
    return attachment


def attachments_of(*, actor):
    return scope_queryset(Attachment.objects.select_related("household"), actor, "household__village_id")


def attachment_get(*, actor, attachment_id: int) -> Attachment | None:
    """The attachment when its household is in the actor's region, else None (looks missing)."""
    return attachments_of(actor=actor).filter(pk=attachment_id).first()


def attachment_path(attachment: Attachment) -> Path:
    return Path(settings.MEDIA_ROOT) / attachment.path
