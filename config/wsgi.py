"""WSGI entry point (also what Zappa's handler wraps on AWS Lambda)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

application = get_wsgi_application()

# A server process (runserver, gunicorn) processes documents in its local worker when
# DOCUMENT_PROCESSING=thread; the worker also picks up work an earlier process left behind.
from documents.tasks import start_local_worker  # noqa: E402

start_local_worker()
