"""Who may see which rows: one rule for every type, decided by permissions (as NetBox's
``restrict(user, action)``), never by a flag such as ``is_staff``.

A user holding the model's view permission (``<app>.view_<model>``, or the one a type names)
sees every row; anyone else sees the public rows and the rows they own. A new role (a courier,
a booking manager) is then a group of permissions, not a new ``if`` in every type.
"""

from typing import Any

from django.db.models import Q, QuerySet

_MODEL_VIEW_PERMISSION: Any = object()


def view_permission(queryset: QuerySet) -> str:
    meta = queryset.model._meta
    return f"{meta.app_label}.view_{meta.model_name}"


def visible_to(
    user,
    queryset: QuerySet,
    *,
    owner: str | tuple[str, ...] | None = None,
    public: Q | None = None,
    perm: str | None = _MODEL_VIEW_PERMISSION,
) -> QuerySet:
    """The rows of ``queryset`` that ``user`` may see.

    ``perm``: the permission that shows every row (the model's view permission by default;
    ``None``: no permission does, e.g. for private messages). ``owner``: the lookup from a row
    to the user it belongs to (``"user"``, ``"order__user"``; ``"pk"`` for users themselves),
    or several (a delivery is its buyer's and its courier's).
    ``public``: the rows everyone may see, signed in or not.
    """
    if perm is _MODEL_VIEW_PERMISSION:
        perm = view_permission(queryset)
    if perm is not None and user.has_perm(perm):
        return queryset
    allowed = Q(pk__in=[]) if public is None else public
    if owner is not None and user.is_authenticated:
        for lookup in (owner,) if isinstance(owner, str) else owner:
            allowed |= Q(**{lookup: user.pk})
    return queryset.filter(allowed)


def can_see_all(user, queryset: QuerySet, perm: str | None = None) -> bool:
    """Whether ``user`` sees every row of ``queryset``'s model (its view permission)."""
    return user.has_perm(perm or view_permission(queryset))
