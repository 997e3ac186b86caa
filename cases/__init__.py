"""The domain of a police–community mediation program: cases, parties, consent, sessions, audit.

Nothing here knows about Twilio, SendGrid, FastAPI, APScheduler or CalDAV: those are adapters
that depend on this package, never the other way round.
"""
