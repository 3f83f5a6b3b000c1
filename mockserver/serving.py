"""Serve the WSGI app with gunicorn, in-process: the same production server in dev, CI and the image.

``--workers N`` runs N worker processes (gthread: a few threads each) forked from this process
after the app was built, so a bad spec fails before any worker starts. SIGTERM is graceful:
workers stop accepting, finish the requests in flight (a batch is one store transaction, written
atomically) and the process exits 0. gunicorn logs through mockserver's logging configuration.
gunicorn and the store's flock are POSIX-only: run mockserver on Linux or macOS (WSL or Docker on
Windows).
"""
from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import sys
from typing import Any, Callable

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from .config import Settings, StartupError
from .logs import AccessLog

log = logging.getLogger(__name__)

THREADS_PER_WORKER = 8
# gunicorn's header caps, far past the app's own (request_limits.py), so that the app answers a request
# past those in the path's shape; only one past these still gets gunicorn's HTML page.
GUNICORN_FIELD_BYTES = 64 * 1024
GUNICORN_FIELDS = 256
# On Linux each worker binds its own SO_REUSEPORT socket and the kernel spreads new connections over
# them. With one shared socket the workers race to accept, and the first awake often takes a client's
# whole pool of keep-alive connections, leaving the other cores idle (bench/store_scale.py measured
# --workers 2 at 1.0x of one worker in most runs, 1.8x in the others). macOS does not balance
# SO_REUSEPORT sockets, so there the workers keep sharing one.
REUSE_PORT = sys.platform.startswith("linux")
# Known gunicorn (27) behaviour: a "Connection: close" connection is closed gracefully on the gthread
# worker's event loop (util.close_graceful waits up to 2 s for the client's FIN), so a client that keeps
# such a socket open after its answer stalls that worker's other connections meanwhile. Clients that
# read and close (curl, requests, keep-alive clients) never meet it; mockserver.testing closes first.
# Below `docker stop`'s default 10 s grace before SIGKILL, so in-flight batches end and we exit 0.
GRACEFUL_TIMEOUT_S = 9
# Heartbeat files on tmpfs where there is one (Docker's /tmp may be a slow overlay).
WORKER_TMP_DIR = "/dev/shm"


class _GunicornLogs(glogging.Logger):
    """gunicorn's messages go through the root handlers that `configure_logging` set up; its own
    access log is off (mockserver's AccessLog middleware writes one line per request)."""

    def setup(self, cfg: Any) -> None:
        self.cfg = cfg
        self._access_log_enabled = False
        self.error_log.propagate = True
        self.error_log.setLevel(logging.NOTSET)

    def access(self, *args: Any, **kwargs: Any) -> None:
        return None


class _MockServerApplication(BaseApplication):
    """gunicorn's application API: the options below instead of a config file or argv."""

    def __init__(self, wsgi: Callable, options: dict[str, Any]) -> None:
        self.served, self.options = wsgi, options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings:  # e.g. control_socket_disable is new in gunicorn 25
                self.cfg.set(name, value)

    def load(self) -> Callable:
        return self.served


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# Why a bind failed, in words (gunicorn itself retries for ~6 s, then says only "Can't connect").
BIND_CAUSES = {
    errno.EADDRINUSE: "is already in use",
    errno.EADDRNOTAVAIL: "is not an address of this machine",
    errno.EACCES: "needs more privileges (ports below 1024 are reserved)",
}


def check_bind(host: str, port: int) -> None:
    """Bind and release the address as gunicorn will (SO_REUSEADDR), so a busy port or a bad host
    fails at once with a StartupError naming the address and the cause."""
    address = bind_address(host, port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {address}: the host does not resolve ({exc.strerror}).") from None
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(sockaddr)
        except OSError as exc:
            cause = BIND_CAUSES.get(exc.errno, f"cannot be bound ({exc.strerror})")
            raise StartupError(f"{address} {cause}.") from None


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` binds is a loopback one (only this machine can connect)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def log_control_plane_access(settings: Settings) -> None:
    """Once, in the master: whether the control plane needs a token (never the token itself)."""
    if settings.admin_token is not None:
        log.info("control plane: every call but GET /__mockserver/health needs the admin token")
    elif not is_loopback(settings.host):
        log.warning("control plane: OPEN to whoever reaches %s (reset, snapshot import, fault rules, the "
                    "journal); set MOCKSERVER_ADMIN_TOKEN to require a token", bind_address(settings.host, settings.port))


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "bind": [bind_address(settings.host, settings.port)],
        "workers": settings.workers,
        "worker_class": "gthread",
        "threads": THREADS_PER_WORKER,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "accesslog": None,
        "logger_class": _GunicornLogs,
        "proc_name": "mockserver",
        "control_socket_disable": True,  # N servers on one machine (tests, CI) must not share a socket
        # 0: no request-line limit of gunicorn's own (its 4094-byte default answers an HTML 414 that no
        # spec documents); gunicorn still caps a line at 1 MiB, and the body is capped by MAX_BODY_BYTES.
        "limit_request_line": 0,
        "reuse_port": REUSE_PORT,
        # Raised past the app's own header limits (request_limits.py), which answer in the path's shape.
        "limit_request_field_size": GUNICORN_FIELD_BYTES,
        "limit_request_fields": GUNICORN_FIELDS,
        **({"worker_tmp_dir": WORKER_TMP_DIR} if os.path.isdir(WORKER_TMP_DIR) else {}),
    }


def run(app: Callable, settings: Settings, on_exit: Callable[[], Any] | None = None) -> None:
    """Serve until SIGTERM/SIGINT (gunicorn then exits the process, status 0 after a graceful stop).

    ``on_exit`` runs in this (the master) process once every worker has stopped: the store folds its
    journals into the TinyDB files there, so a graceful stop leaves complete databases."""
    wsgi = AccessLog(app) if settings.access_log else app
    log.info("mockserver serving specs %s, data %s, %d worker(s) on %s", settings.specs, settings.data,
             settings.workers, bind_address(settings.host, settings.port))
    log_control_plane_access(settings)
    options = gunicorn_options(settings)
    if on_exit is not None:
        options["on_exit"] = lambda arbiter: on_exit()
    _MockServerApplication(wsgi, options).run()  # exits via SystemExit (0 when graceful)
