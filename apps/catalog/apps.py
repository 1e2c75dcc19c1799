from django.apps import AppConfig


def _catalog_changed(**kwargs) -> None:
    from .cache import catalog_changed

    catalog_changed()


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        # Any saved or deleted catalog row (services, the Django admin) makes cached catalog
        # responses stale; bulk stock changes call catalog_changed() themselves.
        from django.db.models.signals import post_delete, post_save

        from .models import Category, Product, ProductImage, ProductVariant

        for model in (Category, Product, ProductVariant, ProductImage):
            post_save.connect(_catalog_changed, sender=model, dispatch_uid=f"cache-{model}")
            post_delete.connect(_catalog_changed, sender=model, dispatch_uid=f"cache-d-{model}")
