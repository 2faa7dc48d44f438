"""Questionnaires: question definitions and answer validation (``questions``), creating,
funding and answering them (``services``), results (``results``), the public link
(``links``), response exports and the poster (``exports``, rendered by ``tasks``) and
their downloads (``views``)."""
