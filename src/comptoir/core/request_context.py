"""Who is acting, from where, under which request id: read by the audit log."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    #: On whose behalf the signed-in person acts ("acting for whom"): empty for themself, else
    #: the economic operator chosen (actor type, identifier type, identifier, capacity, ...).
    on_behalf_of: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "comptoir_request_context",
    default=RequestContext(),  # noqa: B039 - frozen dataclass
)


def current() -> RequestContext:
    return _current.get()


def bind(context: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(context)


def bind_on_behalf_of(on_behalf_of: Mapping[str, Any]) -> contextvars.Token[RequestContext]:
    """Keep the request id and address; say on whose behalf the rest of the request acts."""
    return _current.set(replace(_current.get(), on_behalf_of=MappingProxyType(dict(on_behalf_of))))


def reset(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)
