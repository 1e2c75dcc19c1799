"""What a request may see because it holds a secret: a guest's cart token, an order's token.

The visibility rule of a type (``apps.core.visibility.visible_to``) knows owners and
permissions. A guest owns nothing, yet sees the cart whose token it sent and the order whose
link it followed, with their lines: the resolver that checked the secret grants the rows it
reached, for the rest of the request, and the types of those rows and of their lines add the
grant to what their rule shows.
"""

from django.db.models import Model, Q

_ATTRIBUTE = "_silkcart_grants"


def _label(model: type[Model] | str) -> str:
    """Grants are kept by model label (``orders.Order``), so that a lower app can ask about an
    upper app's model without importing it."""
    return model if isinstance(model, str) else model._meta.label


def _grants(info) -> dict[str, Q]:
    request = info.context.request
    grants = getattr(request, _ATTRIBUTE, None)
    if grants is None:
        grants = {}
        setattr(request, _ATTRIBUTE, grants)
    return grants


def grants_key(info) -> frozenset:
    """What the request was granted, as a value to compare and hash."""
    return frozenset(_grants(info).items())


def grant(info, model: type[Model] | str, condition: Q) -> None:
    """For the rest of the request, the caller may see the rows of ``model`` in ``condition``."""
    grants, key = _grants(info), _label(model)
    grants[key] = grants[key] | condition if key in grants else condition


def granted(info, model: type[Model] | str, *, through: str = "") -> Q | None:
    """The rows the request was granted of ``model`` (a model or its label), as a condition on
    rows that reach it through the lookup ``through`` (``"order__"`` for an order's lines);
    None without any."""
    condition = _grants(info).get(_label(model))
    if condition is None or not through:
        return condition
    return _prefixed(condition, through)


def _prefixed(condition: Q, prefix: str) -> Q:
    prefixed = Q()
    prefixed.connector, prefixed.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            prefixed.children.append(_prefixed(child, prefix))
        else:
            lookup, value = child
            prefixed.children.append((f"{prefix}{lookup}", value))
    return prefixed
