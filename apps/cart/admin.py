from django.contrib import admin

from .models import Cart, CartLine


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    raw_id_fields = ["variant"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["token", "user", "status", "created_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["token", "user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["token", "created_at", "updated_at"]
    inlines = [CartLineInline]
