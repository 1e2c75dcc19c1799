from django.contrib import admin

from .models import Category, Product, ProductImage, ProductVariant, StockMovement


class ProductVariantInline(admin.TabularInline):
    model = ProductVariant
    extra = 0
    fields = ["sku", "name", "price", "stock_quantity", "is_active"]
    readonly_fields = ["stock_quantity"]  # stock changes go through stockUpdate (with a reason)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["image", "alt", "sort_order", "width", "height"]
    readonly_fields = ["width", "height"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "created_at"]
    list_filter = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "is_active", "archived_at", "created_at"]
    list_filter = ["is_active", "category"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["category"]
    readonly_fields = ["archived_at", "created_at", "updated_at"]
    inlines = [ProductVariantInline, ProductImageInline]


@admin.register(ProductVariant)
class ProductVariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "name", "price", "stock_quantity", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["sku", "name", "product__name"]
    list_select_related = ["product"]
    raw_id_fields = ["product"]
    readonly_fields = ["stock_quantity"]


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = ["variant", "kind", "delta", "quantity_after", "reason", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["variant__sku", "reason"]
    list_select_related = ["variant", "actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
