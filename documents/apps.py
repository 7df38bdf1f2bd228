from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the clean-up after bot and org deletions)
