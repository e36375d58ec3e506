"""The core app's models, where Django looks for them: the toolkit's table of pending invalidations."""

from core.toolkit.models import PendingInvalidation

__all__ = ["PendingInvalidation"]
