"""Who may use the dashboard, and what a page may load.

* **Loopback by default.** Bound to 127.0.0.1 (or ::1, localhost), the dashboard asks for no
  token: only this machine's users reach it. Bound to any other address it refuses every
  request without a token: a read-write token (submit, cancel, save) and a read-only one
  (look and download), generated and printed once, or given. A token comes as
  ``Authorization: Bearer TOKEN`` or once in the address (``?token=TOKEN``), which sets a
  cookie (HttpOnly, SameSite=Strict) and takes the token out of the address.
* **Forged forms are refused.** Every request that changes something (POST) must carry the
  page's CSRF token (a random value in a SameSite cookie, repeated in the form or in the
  ``X-CSRF-Token`` header that htmx sends) and, when the browser says where it comes from
  (``Origin``), come from the dashboard itself.
* **Pages load nothing from elsewhere, and run no inline script.** Every response carries a
  Content-Security-Policy that allows scripts, styles, images and connections from the
  dashboard only (the charting library and htmx are vendored), no inline scripts, no
  framing. Plotly sets inline styles on the charts it draws, so styles may be inline.
* **Bounded requests.** A request body larger than ``MAX_BODY_BYTES`` is refused (413).
* No CORS headers are ever sent: other sites' pages cannot read the dashboard's answers.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

Role = Literal["read", "write"]
LOOPBACK_NAMES = ("localhost",)
MAX_BODY_BYTES = 1_000_000
CSRF_COOKIE = "fieldcast_csrf"
TOKEN_COOKIE = "fieldcast_token"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # not "no-referrer": with it, browsers send "Origin: null" on the dashboard's own form
    # posts, which the CSRF check must refuse; other sites still learn nothing
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


# A token given travels in an address (``?token=``), a header and a cookie: URL-safe
# characters only, and long enough not to be guessed (a made one has 32 of them).
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]{16,256}")


def token_problem(token: str) -> str | None:
    """Why a token given for the dashboard is refused, or None (the token itself is never
    repeated: it is a secret)."""
    if TOKEN_PATTERN.fullmatch(token):
        return None
    return (
        "must be 16 to 256 letters, digits, '-', '_', '.' or '~' (it travels in addresses "
        f"and cookies, and must not be guessable); this one has {len(token)} characters"
    )


def is_loopback(host: str) -> bool:
    """Whether a bind address reaches this machine only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """The tokens a server asks for: none on loopback."""

    write_token: str | None = None
    read_token: str | None = None

    @classmethod
    def for_host(
        cls, host: str, write_token: str | None = None, read_token: str | None = None
    ) -> Access:
        """No tokens on loopback (unless given); on any other address, the given ones or new
        random ones."""
        if is_loopback(host) and write_token is None and read_token is None:
            return cls()
        return cls(
            write_token=secrets.token_urlsafe(24) if write_token is None else write_token,
            read_token=secrets.token_urlsafe(24) if read_token is None else read_token,
        )

    @property
    def required(self) -> bool:
        return self.write_token is not None

    def role(self, token: str | None) -> Role | None:
        """The role a token gives (None: none). Compared in constant time."""
        if not self.required:
            return "write"
        if token is None:
            return None
        if self.write_token and hmac.compare_digest(token, self.write_token):
            return "write"
        if self.read_token and hmac.compare_digest(token, self.read_token):
            return "read"
        return None


def request_token(request: Request) -> str | None:
    """The token a request carries: header, address or cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(request: Request, form_token: str | None) -> bool:
    """The request carries the CSRF cookie's value (in the form or the header), and, if the
    browser names its origin, it is this dashboard."""
    cookie = request.cookies.get(CSRF_COOKIE)
    given = form_token or request.headers.get("x-csrf-token")
    if not cookie or not given or not hmac.compare_digest(cookie, given):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"
