"""Batch exports, a ready batch's codes as a file to print: the writers (``render``),
requesting one and its download link (``service``), the Celery task that renders it
(``tasks``) and the download (``views``)."""
