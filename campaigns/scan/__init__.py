"""Scan codes: their format (``codes``), batches and their funding (``services``), code
generation (``generation``, run by ``tasks``), claims (``claims``), what a code offers
before it is claimed (``preview``) and claim statistics (``stats``)."""
