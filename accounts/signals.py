"""Signals of the accounts domain, for the apps above it (accounts never imports them)."""

from django.dispatch import Signal

# A consumer signed in (phone code or WeChat): ``sender`` is ``User``, ``user`` the
# consumer. privacy cancels a pending deletion of the account (decision 0186).
signed_in = Signal()

# A consumer proved a phone (signed in with its code, or bound it): ``sender`` is
# ``User``, ``user`` the consumer. Sent once the transaction commits
# (``accounts.phones.phone_proven``). earning credits the awards that waited for the
# phone (decision 0223).
phone_proven = Signal()
