"""What every layer needs to know about the database itself."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

#: The errors that mean "the database cannot be reached" (Django wraps the driver's errors; the
#: driver's own are listed too in case one escapes the wrapper).
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
try:  # pragma: no branch - psycopg is installed with the PostgreSQL extra
    import psycopg

    DATABASE_UNAVAILABLE += (psycopg.OperationalError, psycopg.InterfaceError)
except ImportError:  # pragma: no cover
    pass
