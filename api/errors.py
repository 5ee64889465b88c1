"""One error shape for every API: ``{"detail": message, "field": field}`` with the error's status.

Services raise a FieldError (or a subclass: a grading, job, rule, export or evaluation error)
naming what was wrong and where; the API layer renders it the same way everywhere, so no view
turns errors into responses by hand.
"""

from __future__ import annotations


class FieldError(Exception):
    """A refusal that says what was wrong (``message``) and where (``field``, or None for the whole request)."""

    status = 400

    def __init__(self, message: str, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def as_body(self) -> dict[str, str | None]:
        return {"detail": self.message, "field": self.field}
