"""A real OpenID Connect provider on loopback, and a small HTML form driver for `requests`.

The provider is oidc-provider-mock (Authlib + Flask) run the way it is meant to be run, as its own
process (`python -m oidc_provider_mock`, which also allows plain HTTP on loopback). It accepts any
client id and secret and signs in whichever subject is typed in its authorisation form; the
claims of a subject are set beforehand through its `PUT /users/<sub>` endpoint.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urljoin

import pytest
import requests


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- HTML forms -------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    in_main: bool = False


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._textarea: str | None = None
        self._in_main = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "main":
            self._in_main = True
        if tag == "form":
            self.forms.append(
                Form(
                    action=a.get("action", ""),
                    method=a.get("method", "get"),
                    in_main=self._in_main,
                )
            )
            return
        if not self.forms:
            return
        form = self.forms[-1]
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    form.fields[name] = a.get("value", "on")
            elif kind == "submit":
                form.buttons.append((name, a.get("value", "")))
            else:
                form.fields[name] = a.get("value", "")
        elif tag == "button" and name:
            form.buttons.append((name, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = name
            form.fields[name] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1].fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "main":
            self._in_main = False


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def submit(
    session: requests.Session,
    page: requests.Response,
    data: dict[str, str] | None = None,
    *,
    having: str = "csrfmiddlewaretoken",
    **kwargs,
) -> requests.Response:
    """Submit the first POST form of `page` that has a field (or button) named `having`, with its
    own fields (hidden ones included: the CSRF token) overridden by `data`. Forms in the page's
    <main> come first, so that the header's sign-out and language forms are not taken."""
    found = forms(page.text)
    for form in [f for f in found if f.in_main] + [f for f in found if not f.in_main]:
        names = set(form.fields) | {name for name, _ in form.buttons}
        if form.method.lower() == "post" and having in names:
            payload = {**form.fields, **(data or {})}
            url = urljoin(page.url, form.action) if form.action else page.url
            return session.post(url, data=payload, headers={"Referer": page.url}, **kwargs)
    raise AssertionError(f"no POST form with {having!r} on {page.url}:\n{page.text[:3000]}")


# --- The provider -----------------------------------------------------------------------------


@dataclass
class OidcProvider:
    """The running provider. `issuer` is its base URL (discovery under /.well-known/)."""

    issuer: str
    log_file: Path

    def set_claims(self, sub: str, **claims: object) -> None:
        """Give the subject `sub` these claims (email, email_verified, given_name, ...)."""
        response = requests.put(
            f"{self.issuer}/users/{quote(sub, safe='')}",
            data=json.dumps(claims),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        response.raise_for_status()

    def authorize(
        self, session: requests.Session, page: requests.Response, sub: str, **claims: object
    ) -> requests.Response:
        """On the provider's authorisation page, sign in as `sub` (with `claims`, when given) and
        follow the redirects back to the client."""
        assert page.url.startswith(f"{self.issuer}/oauth2/authorize"), (
            f"not the provider's authorisation page: {page.status_code} {page.url}\n"
            f"{page.text[:3000]}"
        )
        if claims:
            self.set_claims(sub, **claims)
        return submit(session, page, {"sub": sub}, having="sub")

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


def oidc_provider_apps(entries: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> list:
    """Build allauth's openid_connect APPS from a COMPTOIR_OIDC_PROVIDERS value, with the very
    code settings.py runs at start-up."""
    monkeypatch.delenv("COMPTOIR_OIDC_PROVIDERS_FILE", raising=False)
    monkeypatch.setenv("COMPTOIR_OIDC_PROVIDERS", json.dumps(entries))
    comptoir_settings = importlib.import_module("comptoir.settings")
    return comptoir_settings._oidc_providers()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """Start oidc-provider-mock on 127.0.0.1 on a free port, once per test session."""
    port = _free_port()
    log_file = tmp_path_factory.mktemp("oidc") / "provider.log"
    issuer = f"http://127.0.0.1:{port}"
    with log_file.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oidc_provider_mock",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
    provider = OidcProvider(issuer=issuer, log_file=log_file)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the OIDC provider exited:\n{provider.log()}")
            try:
                discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
                if discovery.ok and discovery.json()["issuer"] == issuer:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the OIDC provider did not start:\n{provider.log()}")
            time.sleep(0.1)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
