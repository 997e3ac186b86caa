"""Outgoing and incoming messages, split by role: ``channels`` (one adapter per provider behind
``channels.base.Notifier``), ``outbox`` (the dispatcher that delivers the outbox), ``compose``
(what a notice says), ``tracking`` and ``inbound`` (providers' reports and parties' texts, in the
providers' words, handed to ``cases``). What an outcome means for a case is ``cases``' business
(``cases.notice_outcomes``, ``cases.delivery``, ``cases.replies``); nothing here decides it. The
provider emulator that tests and demos send to lives outside, in ``emulator/``, so that no product
code can reach for it.
"""
