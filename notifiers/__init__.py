"""Outgoing and incoming messages, split by role: ``channels`` (one adapter per provider behind
``channels.base.Notifier``), ``outbox`` (the dispatcher that delivers the outbox), ``compose``
(what a notice says), ``tracking`` and ``inbound`` (providers' reports and parties' texts, in the
providers' words, handed to ``cases``), and a provider emulator for tests and demos. What an
outcome means for a case is ``cases``' business (``cases.notice_outcomes``, ``cases.delivery``,
``cases.replies``); nothing here decides it.
"""
