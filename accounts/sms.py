"""Sending SMS, behind a small interface (the only part of sign-in outside our system).

``SMS_BACKEND`` names the class, as Django's ``EMAIL_BACKEND`` does: the console
backend prints messages (the demo), the memory backend keeps them in a list
(tests); a production gateway implements the same ``send``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache
from typing import ClassVar, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsBackend(Protocol):
    def send(self, phone: str, message: str) -> None: ...


@dataclass(frozen=True)
class SentMessage:
    phone: str
    message: str


class ConsoleSmsBackend:
    def send(self, phone: str, message: str) -> None:
        # The demo prints sign-in codes to the console so that a person can sign in.
        print(f"[sms to {phone}] {message}", flush=True)


class MemorySmsBackend:
    """Keeps sent messages in ``MemorySmsBackend.outbox`` for tests to read."""

    outbox: ClassVar[list[SentMessage]] = []
    _lock = threading.Lock()

    def send(self, phone: str, message: str) -> None:
        with self._lock:
            self.outbox.append(SentMessage(phone, message))

    @classmethod
    def last_to(cls, phone: str) -> SentMessage | None:
        with cls._lock:
            for sent in reversed(cls.outbox):
                if sent.phone == phone:
                    return sent
        return None


@cache
def _backend(path: str) -> SmsBackend:
    return import_string(path)()


def send_sms(phone: str, message: str) -> None:
    _backend(settings.SMS_BACKEND).send(phone, message)
