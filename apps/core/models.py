from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SentEmail(models.Model):
    """An email that went out, by its idempotency key (``send_templated_email(key=...)``).

    Written in the transaction of the send, after the SMTP server accepted the message: a job
    retried after a send that succeeded finds it and sends nothing more.
    """

    key = models.CharField(max_length=200, unique=True)
    template = models.CharField(max_length=200)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return self.key
