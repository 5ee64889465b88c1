from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Import the URLconf, and with it every view (DRF, the API schema, each app), while the
# worker boots rather than on its first request: that import takes 0.5-1 s, and annotators
# reaching a fresh gunicorn worker waited behind it, up to 2-3 s with 32 of them at once
# (docs/performance.md, "Audit: gunicorn layout, cold start").
get_resolver().url_patterns
