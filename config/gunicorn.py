"""The production server's configuration: ``gunicorn -c python:config.gunicorn config.wsgi``.

A burst must queue and be served, not exhaust PostgreSQL or be reset:

- **Connections to PostgreSQL per host** = ``WEB_WORKERS`` x ``WEB_THREADS``. Each
  thread keeps one connection (``CONN_MAX_AGE``) and no request runs outside a
  thread, so however many clients connect, the host never holds more (Celery workers
  add their own). Size ``max_connections`` (or PgBouncer) for hosts x this + workers.
- **Listen backlog** ``WEB_BACKLOG`` (2048; the kernel caps it at
  ``net.core.somaxconn``): connections beyond what the workers have accepted wait
  there instead of being refused. Each worker accepts up to ``worker_connections``
  (1000) at once and queues them for its threads.
- **Deadline** ``REQUEST_QUEUE_DEADLINE_SECONDS`` (10, read by the settings): a
  request that waited longer in that queue is answered 503 with ``Retry-After``
  (``config.gunicorn_worker``, ``core.deadline``); the others are served in order.

See docs/decisions/0135-bursts-queue-bounded-threads-and-a-deadline.md.
"""

from __future__ import annotations

from config.env import env_int

workers = env_int("WEB_WORKERS", 2)
threads = env_int("WEB_THREADS", 4)
worker_class = "config.gunicorn_worker.DeadlineThreadWorker"
worker_connections = 1000
backlog = env_int("WEB_BACKLOG", 2048)
# The arbiter restarts a worker whose main (accepting) loop has not reported for this
# long; with threads it does not time requests themselves.
timeout = 30
graceful_timeout = 20
keepalive = 5
