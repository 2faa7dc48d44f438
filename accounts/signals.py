"""Signals of the accounts domain, for the apps above it (accounts never imports them)."""

from django.dispatch import Signal

# A consumer signed in (phone code or WeChat): ``sender`` is ``User``, ``user`` the
# consumer. privacy cancels a pending deletion of the account (decision 0186).
signed_in = Signal()
