"""Run the WSGI app: werkzeug's threaded server for one worker."""
from __future__ import annotations

import logging

from flask import Flask
from werkzeug.serving import make_server

from .config import Settings

log = logging.getLogger(__name__)


def run(app: Flask, settings: Settings) -> None:
    server = make_server(settings.host, settings.port, app, threaded=True)
    log.info("mockserver listening on http://%s:%d (specs %s, data %s)", settings.host, server.server_port,
             settings.specs, settings.data)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
