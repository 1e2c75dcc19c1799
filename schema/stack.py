"""Run GraphQL execution at the start of a roomy chunk of CPython's frame stack.

CPython keeps frames in chunks of 16 KiB, mapped when a call does not fit in the current chunk
and unmapped as soon as that call returns. graphql-core resolves a document by recursion, field
by field: when the recursion happens to reach across a chunk's end, every field at that depth
maps and unmaps a chunk (measured on the catalog page: 60 to 400 ``mmap``/``munmap`` pairs per
request, depending on how deep the request already was; about a tenth of its time).

``run_in_roomy_frame`` is a function whose frame is large (2,000 unused local slots): calling it
makes CPython map one 32 KiB chunk for it, and the whole execution below it fits in what is left
of that chunk. One mapping per request, whatever the depth of the caller.
"""

import types
from collections.abc import Callable
from typing import Any

ROOM = 2000  # slots: the chunk for this frame is 32 KiB, half of it left for the execution

_SOURCE = (
    "def run_in_roomy_frame(function, args, kwargs):\n"
    "    if function is None:  # never true: these names only size the frame\n"
    f"        {' = '.join(f'_{index}' for index in range(ROOM))} = None\n"
    "    return function(*args, **kwargs)\n"
)
_CODE = next(
    constant
    for constant in compile(_SOURCE, __file__, "exec").co_consts
    if isinstance(constant, types.CodeType)
)

run_in_roomy_frame: Callable[[Callable[..., Any], tuple, dict], Any] = types.FunctionType(
    _CODE, {"__builtins__": __builtins__}
)
