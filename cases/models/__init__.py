"""The service's state, as SQLAlchemy 2 typed models. The database is the truth: jobs read rows to
decide what is due, so everything that must survive a restart lives here.

One module per aggregate (``cases``: a case, its parties and sessions; ``mediators``: mediators,
venues and availability; ``messages``: the outbox, suppressions and audit; ``staff``: accounts),
on a shared ``base`` (``Base``, ``UTCDateTime``, the state enums). Every model is re-exported
here, so ``from cases.models import X`` is the one way in and importing this package registers
every table on ``Base.metadata`` (Alembic reads it).
"""

from cases.models.base import (
    NAMING,
    Base,
    CaseState,
    ConsentStatus,
    NotificationStatus,
    Outcome,
    PartyRole,
    SessionStatus,
    StaffRole,
    UTCDateTime,
)
from cases.models.cases import Case, Consent, MediationSession, Party, Reservation, SessionConfirmation
from cases.models.mediators import (
    AvailabilityWindow,
    CalendarPush,
    Mediator,
    MediatorCalendarSnapshot,
    MediatorConflict,
    Venue,
)
from cases.models.messages import (
    AuditEvent,
    InboundMessage,
    Notification,
    PhoneLine,
    QueueHandled,
    SenderPace,
    Suppression,
    WebhookEvent,
)
from cases.models.staff import ApiToken, LoginAttempt, StaffUser

__all__ = [
    "NAMING",
    "ApiToken",
    "AuditEvent",
    "AvailabilityWindow",
    "Base",
    "CalendarPush",
    "Case",
    "CaseState",
    "Consent",
    "ConsentStatus",
    "InboundMessage",
    "LoginAttempt",
    "MediationSession",
    "Mediator",
    "MediatorCalendarSnapshot",
    "MediatorConflict",
    "Notification",
    "NotificationStatus",
    "Outcome",
    "Party",
    "PartyRole",
    "PhoneLine",
    "QueueHandled",
    "Reservation",
    "SenderPace",
    "SessionConfirmation",
    "SessionStatus",
    "StaffRole",
    "StaffUser",
    "Suppression",
    "UTCDateTime",
    "Venue",
    "WebhookEvent",
]
