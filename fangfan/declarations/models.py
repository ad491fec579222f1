"""农户自主申报 (篇九 (四) ①, roles.md 农户): what a household declared on the public page."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from fangfan.common import codes as C
from fangfan.common import pii


class Declaration(models.Model):
    class Stage(models.TextChoices):
        RECEIVED = "received", "已受理"
        CASE_OPENED = "case_opened", "已发起识别纳入"
        LINKED = "linked", "已并入办理中的识别案件"
        MONITORED = "monitored", "已是监测对象"
        NEEDS_REGISTRATION = "needs_registration", "待登记"
        CLOSED = "closed", "已办结"

    # 'SB' + YYYYMMDD + 8 characters without look-alikes: the declarant types it back in.
    receipt = models.CharField("回执号", max_length=20, unique=True)
    name = models.CharField("姓名", max_length=50)
    # Encrypted at rest (fangfan.common.pii), like registry.Member: the blind index of the
    # normalised ID matches the declaration to a member, the phone's index finds a declaration
    # for the public status page and counts the per-phone throttle; `id_number` / `phone` below
    # read and set the plain values (shown masked to the village, the phone in full to call back).
    id_index = models.CharField("证件号码索引", max_length=32, db_index=True)
    id_cipher = models.CharField("证件号码(密文)", max_length=120)
    phone_index = models.CharField("联系电话索引", max_length=32, db_index=True)
    phone_cipher = models.CharField("联系电话(密文)", max_length=120)
    # Where the declaration is handled: the household's own village when the ID is registered
    # elsewhere, otherwise the village picked on the page (declared_village).
    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="declarations", db_column="village_code"
    )
    declared_village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", db_column="declared_village_code"
    )
    # A code of fangfan.common.codes.RISK (checked by the service; no choices, so the list can grow
    # without a migration).
    risk = models.CharField("困难类型", max_length=3)
    text = models.CharField("情况说明", max_length=500, blank=True)
    submitted_at = models.DateTimeField("申报时间", default=timezone.now, db_index=True)
    client_ip = models.GenericIPAddressField("来源地址", null=True, blank=True, db_index=True)
    stage = models.CharField("阶段", max_length=20, choices=Stage.choices, default=Stage.RECEIVED)
    note = models.CharField("办理说明", max_length=300, blank=True)
    household = models.ForeignKey(
        "registry.Household", null=True, blank=True, on_delete=models.PROTECT, related_name="declarations"
    )
    case = models.ForeignKey(
        "workflows.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="declarations"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["village", "stage"], name="declaration_village_stage")]

    def __str__(self) -> str:
        return self.receipt

    @property
    def risk_label(self) -> str:
        return dict(C.RISK.items).get(self.risk, self.risk)

    id_number = pii.sealed_property(pii.ID_FIELD, "id_cipher", "id_index")
    # The index of the normalised phone (digits only: declarations.services.normalise_phone).
    phone = pii.sealed_property(pii.PHONE_FIELD, "phone_cipher", "phone_index")


def phone_index(phone: str) -> str:
    """The blind index of a normalised phone (digits only: declarations.services.normalise_phone)."""
    return pii.keyring().index(phone)
