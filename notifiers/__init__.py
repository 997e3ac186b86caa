"""Outgoing and incoming messages: one adapter per channel behind ``base.Notifier``, the outbox
dispatcher, template rendering and SMS segment counting. The provider emulator that tests and demos
send to lives outside, in ``emulator/``, so that no product code can reach for it.
"""
