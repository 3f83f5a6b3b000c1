"""Limits on a request's header fields, answered by the app so the refusal has the path's shape.

gunicorn refuses a header field over 8190 bytes or more than 100 fields with its own HTML page,
which no vendor sends and no client of a vendor parses. So gunicorn's caps are raised well past
ours (serving.py ``GUNICORN_FIELD_BYTES``, ``GUNICORN_FIELDS``) and the app refuses first, with a 431 that a vendor path renders
in the vendor's error shape (views.vendor_http_error) and the control plane as RFC 7807. Only a
request past gunicorn's own raised caps still gets gunicorn's page.
"""
from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge

# Emulation choice: the limits gunicorn (and nginx's default 8k header buffers) apply, named by the
# vendors' docs nowhere: a field ("Name: value") of at most 8190 bytes, at most 100 fields.
MAX_HEADER_FIELD_BYTES = 8190
MAX_HEADER_FIELDS = 100


def check_headers() -> None:
    """``before_request``: a 431 naming the field (or the count) past the limits."""
    fields = list(request.headers.items())
    if len(fields) > MAX_HEADER_FIELDS:
        raise RequestHeaderFieldsTooLarge(f"The request has {len(fields)} header fields; at most "
                                          f"{MAX_HEADER_FIELDS} are accepted.")
    for name, value in fields:
        size = len(name) + 2 + len(value.encode("latin-1", "replace"))
        if size > MAX_HEADER_FIELD_BYTES:
            raise RequestHeaderFieldsTooLarge(f"The header field {name[:64]} is {size} bytes; at most "
                                              f"{MAX_HEADER_FIELD_BYTES} are accepted.")


def init_app(app: Flask) -> None:
    app.before_request(check_headers)
