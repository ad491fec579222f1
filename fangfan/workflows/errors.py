"""Errors a user sees when a case step is refused: one base class, a Chinese reason."""
from __future__ import annotations


class WorkflowError(Exception):
    """A step that cannot be done, with the reason in Chinese (shown to the user as is)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class NotAllowed(WorkflowError):
    """The actor's role or region does not allow this step."""


class GuardFailed(WorkflowError):
    """A condition of the step is not met (record missing, notice running, objection open ...)."""


class ConcurrentEditError(WorkflowError):
    """Someone else changed the case since it was loaded; reload and try again."""


class ConsentMissing(WorkflowError):
    """附件1 not signed: no asset query, no further step."""
