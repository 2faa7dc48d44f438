"""Several application hosts and Celery worker hosts on one machine (issue 25).

Each host is a Linux network namespace with an address of its own on a bridge
(``10.77.0.0/24``, the project's test hosts only), joined to the machine by a veth pair;
it sees the platform's services only through the gateway, as a separate machine would:

- **HAProxy** on ``127.0.0.1:<port>`` (the load balancer, round robin over the
  application hosts, health-checked) and on the gateway for Redis (TCP);
- **PgBouncer** on the gateway, transaction pooling in front of the machine's
  PostgreSQL; the hosts run with ``DATABASE_TRANSACTION_POOLING=1`` (decision 0242).

Every host runs lines of ``deploy/Procfile`` (``deploy.procfile``), as a Procfile
runner would: application hosts ``web`` (gunicorn, ``config/gunicorn.py``), worker hosts
``worker`` (Celery), and the last worker host also ``beat``, exactly one in the
deployment. ``kill`` takes one host down as a crash would: every process of it killed
(SIGKILL) and its link cut. Needs root (namespaces, links), haproxy and pgbouncer.

    uv run python -m deploy.topology up --app-hosts 3 --worker-hosts 2   # Ctrl-C: down
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy import procfile
from devtools.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
BRIDGE = "lt-br0"
NETWORK = "10.77.0"
GATEWAY = f"{NETWORK}.1"
PGBOUNCER_PORT = 6432
REDIS_PORT = 6379
APP_PORT = 8000


# A host that crashes inside a transaction (its processes SIGKILLed, its link cut before
# the kernel's FIN left) keeps that transaction open on its server connection, and with
# it the row locks a claim takes (the reserve bucket, the wallet): every other host's
# claims then wait on them for as long as PgBouncer believes the client alive (TCP
# keepalive: hours). PgBouncer closes a client idle inside a transaction after this many
# seconds, which rolls it back. No transaction of the platform waits on its client that
# long (imports and exports run chunk by chunk, each chunk its own transaction).
IDLE_TRANSACTION_TIMEOUT = 10


def pgbouncer_ini(
    folder: Path,
    *,
    listen: str,
    port: int,
    server: str,
    pool_size: int,
    max_client_conn: int,
    idle_transaction_timeout: int = IDLE_TRANSACTION_TIMEOUT,
) -> Path:
    """Write PgBouncer's settings (transaction pooling, docs/operations.md) in ``folder``
    and return the ini's path; ``server`` is PostgreSQL's ``host:port``."""
    host, server_port = server.rsplit(":", 1)
    (folder / "users.txt").write_text('"postgres" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        f"[databases]\n* = host={host} port={server_port}\n[pgbouncer]\n"
        f"listen_addr = {listen}\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\npool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmax_client_conn = {max_client_conn}\n"
        f"idle_transaction_timeout = {idle_transaction_timeout}\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
        # A server connection whose login stalls is dropped and made again soon.
        "server_connect_timeout = 5\nserver_login_retry = 1\n"
        # psycopg sends none of these by default; Django may send ``options``.
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: it runs as postgres
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, user="postgres")
    return ini


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


@dataclass
class Host:
    name: str  # the namespace, e.g. lt-app1
    address: str
    role: str  # "app" or "worker"
    # The Procfile's processes the host runs, each started in a process group of its own.
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def alive(self) -> bool:
        return bool(self.processes) and all(p.poll() is None for p in self.processes.values())


@dataclass
class Topology:
    """The hosts, the balancer and the pool; ``up()`` then ``down()`` (or ``with``)."""

    base: Path
    database: str  # the database name on the machine's PostgreSQL (127.0.0.1:5432)
    app_hosts: int = 2
    worker_hosts: int = 2
    env: Mapping[str, str] = field(default_factory=dict)  # for every host's processes
    redis_db: int = 1
    pool_size: int = 20
    web_port: int = 0  # HAProxy's port on 127.0.0.1 (0: pick one)
    hosts: list[Host] = field(default_factory=list)
    _services: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __enter__(self) -> Topology:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    # --- Up ------------------------------------------------------------------------------

    def up(self) -> None:
        self.down()  # whatever an interrupted run left
        if not self.web_port:
            self.web_port = free_port()
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")
        self.hosts = self.plan()
        for host in self.hosts:
            self._network(host)
        self._start_pgbouncer()
        self._start_haproxy()
        for host in self.hosts:
            self._start(host)
        self.wait_ready()

    def plan(self) -> list[Host]:
        """The hosts, their names and addresses (nothing started)."""
        return [
            Host(f"lt-app{n}", f"{NETWORK}.{10 + n}", "app") for n in range(1, self.app_hosts + 1)
        ] + [
            Host(f"lt-work{n}", f"{NETWORK}.{30 + n}", "worker")
            for n in range(1, self.worker_hosts + 1)
        ]

    def _network(self, host: Host) -> None:
        outside, inside = f"{host.name}-h", f"{host.name}-n"
        _run("ip", "netns", "add", host.name)
        _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        _run("ip", "link", "set", inside, "netns", host.name)
        _run("ip", "link", "set", outside, "master", BRIDGE)
        _run("ip", "link", "set", outside, "up")
        inns = ("ip", "netns", "exec", host.name)
        _run(*inns, "ip", "link", "set", "lo", "up")
        _run(*inns, "ip", "addr", "add", f"{host.address}/24", "dev", inside)
        _run(*inns, "ip", "link", "set", inside, "up")
        _run(*inns, "ip", "route", "add", "default", "via", GATEWAY)

    def _start_pgbouncer(self) -> None:
        folder = self.base / "pgbouncer"
        folder.mkdir(parents=True, exist_ok=True)
        ini = pgbouncer_ini(
            folder, listen=GATEWAY, port=PGBOUNCER_PORT, server="127.0.0.1:5432",
            pool_size=self.pool_size, max_client_conn=2000,
        )  # fmt: skip
        self._services.append(
            subprocess.Popen(["runuser", "-u", "postgres", "--", "pgbouncer", str(ini)])
        )
        wait_for_port(PGBOUNCER_PORT, host=GATEWAY)

    def _start_haproxy(self) -> None:
        apps = "\n".join(
            f"    server {h.name} {h.address}:{APP_PORT} check inter 500 fall 2 rise 2"
            for h in self.hosts
            if h.role == "app"
        )
        cfg = self.base / "haproxy.cfg"
        cfg.write_text(
            "global\n    maxconn 4096\n"
            "defaults\n    timeout connect 2s\n    timeout client 60s\n"
            "    timeout server 60s\n    retries 2\n    option redispatch\n"
            f"frontend web\n    mode http\n    bind 127.0.0.1:{self.web_port}\n"
            "    default_backend apps\n"
            "backend apps\n    mode http\n    balance roundrobin\n"
            "    option httpchk GET /console/sign-in/\n"
            f"{apps}\n"
            f"listen redis\n    mode tcp\n    bind {GATEWAY}:{REDIS_PORT}\n"
            f"    server redis 127.0.0.1:{REDIS_PORT}\n"
        )
        self._services.append(subprocess.Popen(["haproxy", "-f", str(cfg)]))
        wait_for_port(self.web_port)

    def host_env(self, host: Host) -> dict[str, str]:
        redis = f"redis://{GATEWAY}:{REDIS_PORT}"
        return {
            **os.environ,
            # The Procfile says ``python``: this environment's.
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "PORT": str(APP_PORT),
            "BEAT_SCHEDULE_FILE": str(self.base / "beat-schedule"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"postgres://postgres@{GATEWAY}:{PGBOUNCER_PORT}/{self.database}",
            "DATABASE_TRANSACTION_POOLING": "1",
            "REDIS_URL": f"{redis}/{self.redis_db}",
            "CELERY_BROKER_URL": f"{redis}/{self.redis_db + 1}",
            "CELERY_RESULT_BACKEND": f"{redis}/{self.redis_db + 1}",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "ALLOWED_HOSTS": "*",
            **self.env,
        }

    def commands(self, host: Host) -> dict[str, list[str]]:
        """The Procfile's processes ``host`` runs, as arguments (``deploy.procfile``)."""
        if host.role == "app":
            return {"web": procfile.command("web")}
        # One process per worker host (solo pool), named after the host.
        solo = ("--pool", "solo", "--hostname", f"{host.name}@%h")
        found = {"worker": procfile.command("worker", *solo)}
        if host is [h for h in self.hosts if h.role == "worker"][-1]:
            found["beat"] = procfile.command("beat")
        return found

    def _start(self, host: Host) -> None:
        for name, command in self.commands(host).items():
            with (self.base / f"{host.name}-{name}.log").open("ab") as log:
                host.processes[name] = subprocess.Popen(
                    ["ip", "netns", "exec", host.name, *command],
                    env=self.host_env(host),
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a process group of its own: killed whole
                )

    def log_of(self, host: Host, process: str) -> str:
        path = self.base / f"{host.name}-{process}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_ready(self, timeout: float = 90) -> None:
        """Until every application host answers through the balancer."""
        deadline = time.monotonic() + timeout
        for host in self.hosts:
            if host.role != "app":
                continue
            url = f"http://{host.address}:{APP_PORT}/console/sign-in/"
            while True:
                done = subprocess.run(
                    ["ip", "netns", "exec", host.name, sys.executable, "-c",
                     f"import urllib.request; urllib.request.urlopen({url!r}, timeout=2)"],
                    capture_output=True, timeout=30,
                )  # fmt: skip
                if done.returncode == 0:
                    break
                if time.monotonic() > deadline or not host.alive():
                    log = self.log_of(host, "web")
                    raise RuntimeError(f"{host.name} did not answer:\n{log[-3000:]}")
                time.sleep(0.3)
        # HAProxy marks a server up after two good checks (rise 2, 500 ms apart).
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/console/sign-in/", timeout=2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    # --- Faults and down -----------------------------------------------------------------

    def kill(self, name: str) -> None:
        """Host ``name`` crashes: all its processes killed at once, its link cut."""
        host = next(h for h in self.hosts if h.name == name)
        for process in host.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        subprocess.run(["ip", "link", "set", f"{name}-h", "down"], capture_output=True)

    def down(self) -> None:
        for host in self.hosts:
            for process in host.processes.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        os.killpg(process.pid, signal.SIGKILL)
        for service in self._services:
            service.terminate()
            service.wait(timeout=20)
        self._services.clear()
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        for line in names.splitlines():
            name = line.split()[0] if line.split() else ""
            if name.startswith("lt-"):
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
                subprocess.run(["ip", "link", "del", f"{name}-h"], capture_output=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--app-hosts", type=int, default=2)
    parser.add_argument("--worker-hosts", type=int, default=2)
    parser.add_argument("--database", default="loyalty")
    args = parser.parse_args()
    topology = Topology(
        Path(tempfile.mkdtemp(prefix="loyalty-topology-")),
        args.database,
        app_hosts=args.app_hosts,
        worker_hosts=args.worker_hosts,
    )
    if args.action == "down":
        topology.down()
        return
    with topology:
        print(f"balancer: {topology.url}  hosts: " + ", ".join(
            f"{h.name} {h.address}" for h in topology.hosts))  # fmt: skip
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
