"""The WSGI application (gunicorn comptoir.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
application = get_wsgi_application()

# Import every view and the API now rather than at the first request, then move what the
# process holds for its whole life out of the garbage collector's reach: a full collection
# walked those ~200,000 objects and stopped a request for about 0.1 s now and then (the p99
# of the B2G check, bench/b2g_check.py).
get_resolver().url_patterns  # noqa: B018
gc.freeze()
