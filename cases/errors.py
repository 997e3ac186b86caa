"""Domain errors. Each carries a message a member of staff can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidInput(DomainError):
    """A value from outside (CLI, CSV, HTTP, webhook) is not acceptable; says which and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(DomainError):
    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class IllegalTransition(DomainError):
    def __init__(self, case_id: int, current: str, target: str) -> None:
        super().__init__(f"case {case_id}: cannot go from {current!r} to {target!r}")
        self.case_id = case_id
        self.current = current
        self.target = target


class DeadlinePassed(DomainError):
    """An answer came after its deadline (the end of the stated day in the party's zone)."""
