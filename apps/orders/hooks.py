"""What other apps do when an order is placed or changes status, in the same transaction.

The apps above orders (deliveries) register their functions here in their ``ready()``;
checkout and the state machine call them, so that orders never import them.
"""

from collections.abc import Callable

_placed: list[Callable] = []
_status_changed: list[Callable] = []


def on_placed(function: Callable) -> Callable:
    """``function(order)``: called in the checkout's transaction, once the order is written."""
    _placed.append(function)
    return function


def on_status_changed(function: Callable) -> Callable:
    """``function(order, previous, actor)``: called in the transaction of each status change."""
    _status_changed.append(function)
    return function


def placed(order) -> None:
    for function in _placed:
        function(order)


def status_changed(order, previous: str, actor) -> None:
    for function in _status_changed:
        function(order, previous, actor)
