"""Check a request against its operation's OpenAPI security requirements.

Emulation choice: credentials are checked for presence and shape, not verified against a vendor
(any non-empty API key, bearer token or Basic pair passes) unless ``Settings.api_keys`` lists the
API keys to accept: then an apiKey scheme's value must be one of them, and a Basic pair passes when
its password (VCC Live's API token) or the whole ``user:password`` (Pipeliner's key pair) is listed.
A bearer token that is a JWT names the audit user; its signature is not checked.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from .specs import Operation

# Claims that name the user, in the order they are tried.
USER_CLAIMS = ("username", "preferred_username", "unique_name", "name", "email", "sub")


class Unauthorized(Exception):
    def __init__(self, detail: str, challenge: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.challenge = challenge


@dataclass(frozen=True)
class Principal:
    user: str | None = None  # from a JWT's claims or the Basic username
    basic_username: str | None = None
    secrets: tuple[str, ...] = field(default=())  # every credential value seen (masked in the journal)


def jwt_user(token: str) -> str | None:
    """The user a JWT names, read from its claims without checking the signature."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    for claim in USER_CLAIMS:
        if isinstance(claims.get(claim), str) and claims[claim]:
            return claims[claim]
    return None


def basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep and user and password else None


def bearer_token(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _satisfy(scheme: Mapping[str, Any], headers: Mapping[str, str], query: Mapping[str, Any],
             cookies: Mapping[str, str], api_keys: frozenset[str]) -> dict[str, Any] | None:
    """What one security scheme yields for this request, or None when it is not satisfied."""
    kind = scheme.get("type")
    if kind == "apiKey":
        source = {"header": headers, "query": query, "cookie": cookies}[scheme["in"]]
        name = scheme["name"].lower() if scheme["in"] == "header" else scheme["name"]
        value = source.get(name)
        if not isinstance(value, str) or not value.strip() or (api_keys and value not in api_keys):
            return None
        return {"secret": value}
    if kind == "http" and scheme.get("scheme", "").lower() == "bearer":
        token = bearer_token(headers.get("authorization", ""))
        return None if token is None else {"secret": token, "user": jwt_user(token)}
    if kind == "http" and scheme.get("scheme", "").lower() == "basic":
        pair = basic_credentials(headers.get("authorization", ""))
        if pair is None or (api_keys and not {pair[1], f"{pair[0]}:{pair[1]}"} & api_keys):
            return None
        return {"secret": headers["authorization"], "user": pair[0], "basic_username": pair[0]}
    return None


def authenticate(op: Operation, headers: Mapping[str, str], query: Mapping[str, Any],
                 cookies: Mapping[str, str], api_keys: frozenset[str]) -> Principal:
    """The principal of the first satisfied security requirement, or raise Unauthorized."""
    if not op.security:
        return Principal()
    missing: list[str] = []
    for requirement in op.security:
        if not requirement:
            return Principal()  # `{}` in the list makes auth optional
        found = {name: _satisfy(op.security_schemes.get(name, {}), headers, query, cookies, api_keys)
                 for name in requirement}
        lacking = [name for name, got in found.items() if got is None]
        if not lacking:
            yielded = list(found.values())
            user = next((g["user"] for g in yielded if g.get("user")), None)
            basic = next((g["basic_username"] for g in yielded if g.get("basic_username")), None)
            return Principal(user=user, basic_username=basic, secrets=tuple(g["secret"] for g in yielded))
        missing.append(" and ".join(_describe(op.security_schemes.get(n, {}), n) for n in lacking))
    raise Unauthorized("Missing or invalid credentials: " + "; or ".join(missing) + ".",
                       challenge=_challenge(op))


def _describe(scheme: Mapping[str, Any], name: str) -> str:
    if scheme.get("type") == "apiKey":
        return f"{scheme.get('in')} {scheme.get('name')!r} ({name})"
    return f"Authorization: {scheme.get('scheme', '').capitalize()} ({name})"


def _challenge(op: Operation) -> str | None:
    for requirement in op.security:
        for name in requirement:
            scheme = op.security_schemes.get(name, {})
            if scheme.get("type") == "http":
                return scheme.get("scheme", "").capitalize() + ' realm="mockserver"'
    return None
