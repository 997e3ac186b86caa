"""How long party links live, and mediator URLs: ``/m/<token>`` for a mediator's page and their
feed. (Party URLs themselves are ``cases.links.party_url``, shared with the notices.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from cases.links import sign_link
from cases.models import Case

PARTY_PURPOSES = ("consent", "availability", "booking")
MEDIATOR_PURPOSE = "mediator"
DEFAULT_LIFETIME = timedelta(days=30)


def party_link_expiry(case: Case, purpose: str, now: datetime) -> datetime:
    """A consent link lives until the consent deadline; the others for 30 days."""
    if purpose == "consent" and case.consent_deadline and case.consent_deadline > now:
        return case.consent_deadline
    return now + DEFAULT_LIFETIME


def mediator_url(base_url: str, secret: str, *, mediator_id: int, expires_at: datetime) -> str:
    token = sign_link(secret, party_id=mediator_id, purpose=MEDIATOR_PURPOSE,
                      expires_at=expires_at)
    return f"{base_url.rstrip('/')}/m/{token}"


def feed_url(base_url: str, feed_token: str) -> str:
    return f"{base_url.rstrip('/')}/calendars/mediators/{feed_token}.ics"
