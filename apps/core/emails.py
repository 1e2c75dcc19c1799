"""Rendering and sending of templated emails (HTML and plain text), each at most once per key."""

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from .models import SentEmail

logger = logging.getLogger(__name__)


def message_id(key: str) -> str:
    """The Message-ID header of the email with this key: the same on every attempt."""
    return f"<{key}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"


def send_templated_email(
    *,
    template: str,
    to: list[str],
    context: dict[str, Any],
    key: str,
    attachments: list[tuple[str, bytes, str]] = (),
) -> None:
    """Send ``<template>_subject.txt``, ``<template>.txt`` and ``<template>.html`` to ``to``.

    ``template`` is a path below ``templates/``, e.g. ``"accounts/emails/welcome"``. ``key``
    names this email for good, e.g. ``"welcome.42"``, and gives its Message-ID
    (``<welcome.42@silkcart.local>``): once an email with this key went out, a later call (a
    retried job) sends nothing. The sent marker is written in the transaction of the send, so a
    concurrent send of the same key waits for it and then sends nothing; a crash between the
    SMTP server's answer and the commit may send the email again, with the same Message-ID.
    ``attachments``: ``(filename, content, mimetype)`` files, e.g. a calendar invitation.
    """
    if SentEmail.objects.filter(key=key).exists():
        logger.info("Email %s was sent already: not sending it again", key)
        return
    context = {"frontend_url": settings.FRONTEND_URL, "shop_name": "SilkCart", **context}
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, to=to, headers={"Message-ID": message_id(key)}
    )
    message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:  # e.g. a calendar invitation
        message.attach(filename, content, mimetype)
    try:
        with transaction.atomic():
            SentEmail.objects.create(key=key, template=template)  # waits for a concurrent send
            message.send()
    except IntegrityError:
        logger.info("Email %s was sent concurrently: not sending it again", key)
