"""Booking sessions so that no mediator, venue or party is ever in two places at once.

Every change to a session goes through this package, so the rules that keep bookings honest
hold whoever asks (a member of staff, a party's link page, the matcher, a mediator's decline):

- :mod:`~scheduler.booking.constraints`: the hard constraints of one option, re-read from the
  rows on every booking and move;
- :mod:`~scheduler.booking.reservations`: the rows that let the database refuse a double booking;
- :mod:`~scheduler.booking.new`: new sessions (:func:`book`, :func:`book_first_available`);
- :mod:`~scheduler.booking.changes`: :func:`reschedule`, :func:`cancel`, :func:`no_show`,
  :func:`withdraw`;
- :mod:`~scheduler.booking.outcome`: how a session that took place ended
  (:func:`record_outcome`);
- :mod:`~scheduler.booking.notices`: who is told, in the same transaction.

Every function takes the caller's session and never commits.
"""

from scheduler.booking.changes import ChangeResult, cancel, no_show, reschedule, withdraw
from scheduler.booking.constraints import (
    BookingOption,
    NotBookable,
    Problems,
    Rules,
    problems,
)
from scheduler.booking.new import FirstAvailable, NotSchedulable, book, book_first_available
from scheduler.booking.outcome import record_outcome
from scheduler.booking.reservations import SlotTaken, is_slot_taken

__all__ = [
    "BookingOption",
    "ChangeResult",
    "FirstAvailable",
    "NotBookable",
    "NotSchedulable",
    "Problems",
    "Rules",
    "SlotTaken",
    "book",
    "book_first_available",
    "cancel",
    "is_slot_taken",
    "no_show",
    "problems",
    "record_outcome",
    "reschedule",
    "withdraw",
]
