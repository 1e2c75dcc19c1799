from django.apps import AppConfig

# Root query fields whose anonymous answers depend on the catalog alone (the response cache).
CACHEABLE_ROOT_FIELDS = ("products", "product", "categories", "category")


def _catalog_changed(**kwargs) -> None:
    from apps.core import response_cache

    response_cache.invalidate()


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        # Any saved or deleted catalog row (services, the Django admin) makes cached catalog
        # responses stale; bulk stock changes invalidate the cache themselves.
        from django.db.models.signals import post_delete, post_save

        from apps.core import response_cache

        from .models import Category, Product, ProductImage, ProductVariant

        response_cache.register(*CACHEABLE_ROOT_FIELDS)
        for model in (Category, Product, ProductVariant, ProductImage):
            post_save.connect(_catalog_changed, sender=model, dispatch_uid=f"cache-{model}")
            post_delete.connect(_catalog_changed, sender=model, dispatch_uid=f"cache-d-{model}")
