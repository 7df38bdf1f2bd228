"""``make loadtest``: Locust against Botwright served by gunicorn on PostgreSQL (see ``runner``)."""
