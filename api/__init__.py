"""API building blocks every app's endpoints use: scoped base views, strict serializers, pagination,
and the one error format. Apps import from here; nothing here knows an app's endpoints."""
