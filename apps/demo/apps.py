from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for development and measurements (``manage.py seed_demo``); no models."""

    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo data"
