"""The calendar feeds as fixtures for the unit tests of the calendars package."""

from tests.support.feeds import google_feed, outlook_feed  # noqa: F401 (fixtures for this folder)
