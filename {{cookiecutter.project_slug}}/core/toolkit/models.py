"""The toolkit's own table: cache invalidations that did not reach the cache yet, kept until they land."""

from django.db import models


class PendingInvalidation(models.Model):
    """Version keys a committed write must bump; a bump the cache refused waits here until a retry lands it."""

    keys = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{len(self.keys)} version keys pending since {self.created_at:%Y-%m-%d %H:%M:%S}"
