"""Outgoing and incoming messages: one adapter per channel behind ``base.Notifier``, the outbox
dispatcher, template rendering, SMS segment counting, and a provider emulator for tests and demos.
"""
