from core.errors import DomainError


class PrivacyError(DomainError):
    """A refusal of the personal-data domain (``privacy.error_codes``)."""
