"""Permission extensions whose refusals carry a stable ``code``.

Pass them to fields as classes or factories (``extensions=[IsAuthenticated()]`` builds one per
field, which is what strawberry expects).
"""

from django.core.exceptions import PermissionDenied
from strawberry_django import permissions
from strawberry_django.fields.types import OperationInfo

from api.types import PublicError
from apps.core.errors import CoreErrorCode


class _CodedRefusal:
    def handle_no_permission(self, exception, *, info):
        if not self.fail_silently:
            raise PublicError(self.message, code=CoreErrorCode.PERMISSION_DENIED) from exception
        result = super().handle_no_permission(exception, info=info)
        if isinstance(result, OperationInfo):
            for message in result.messages:
                message.code = CoreErrorCode.PERMISSION_DENIED
                message.field = None
        return result


class IsAuthenticated(_CodedRefusal, permissions.IsAuthenticated):
    DEFAULT_ERROR_MESSAGE = "You must be signed in."


class HasPerm(_CodedRefusal, permissions.HasPerm):
    DEFAULT_ERROR_MESSAGE = "You do not have permission to do this."


def permission_denied(message: str) -> PermissionDenied:
    """A refusal a resolver raises itself (beyond what a permission says), with its code: a
    mutation answers it as an ``OperationInfo`` message of kind ``PERMISSION``."""
    error = PermissionDenied(message)
    error.code = CoreErrorCode.PERMISSION_DENIED
    return error
