from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts.models import AuthSession, User
        from core.db.functions import install_on_migrate

        install_on_migrate(self, "sql/accounts_session_ok.sql", "sql/accounts_mask_phone.sql")

        # Whatever saves or deletes a user or a session through the ORM drops the
        # processes' checked copies (accounts/session_cache.py); the few bulk updates
        # (tokens.revoke, refresh-token theft) say so themselves.
        post_save.connect(_user_changed, sender=User, dispatch_uid="session-cache-user")
        post_delete.connect(_user_changed, sender=User, dispatch_uid="session-cache-user-del")
        post_save.connect(_session_changed, sender=AuthSession, dispatch_uid="session-cache")
        post_delete.connect(_session_changed, sender=AuthSession, dispatch_uid="session-cache-del")


def _user_changed(sender: Any, instance: Any, created: bool = False, **_kwargs: Any) -> None:
    from accounts.session_cache import sessions

    if not created:  # a new row is in no process's cache yet
        sessions.changed(user_id=instance.pk)


def _session_changed(sender: Any, instance: Any, created: bool = False, **_kwargs: Any) -> None:
    from accounts.session_cache import sessions

    if not created:
        sessions.changed(session_id=instance.pk)
