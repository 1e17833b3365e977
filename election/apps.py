from django.apps import AppConfig


class ElectionConfig(AppConfig):
    name = "election"
    verbose_name = "Escrutinio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from election import signals  # noqa: F401  (connects catalogue cache invalidation)
