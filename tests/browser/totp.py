"""One-time codes as an authenticator app computes them, and waits around allauth's 30 s window."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

TOTP_PERIOD = 30


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238 (HMAC-SHA1, 30 s, 6 digits), the way authenticator apps compute it."""
    counter = int((time.time() if at is None else at) // TOTP_PERIOD)
    key = base64.b32decode(secret.replace(" ", "").upper())
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**6:06d}"


def window() -> int:
    """The number of the current 30 s window."""
    return int(time.time() // TOTP_PERIOD)


def wait_for_window_after(previous: int) -> None:
    """allauth accepts only the current 30 s window (MFA_TOTP_TOLERANCE = 0)."""
    while window() <= previous:
        time.sleep(0.2)


def wait_for_room_in_window(seconds: float) -> None:
    """Make sure the code typed now stays valid for `seconds` more."""
    remaining = TOTP_PERIOD - time.time() % TOTP_PERIOD
    if remaining < seconds:
        time.sleep(remaining + 0.1)
