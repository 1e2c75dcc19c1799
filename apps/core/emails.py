"""Rendering and sending of templated emails (HTML and plain text)."""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated_email(*, template: str, to: list[str], context: dict[str, Any]) -> None:
    """Send ``<template>_subject.txt``, ``<template>.txt`` and ``<template>.html`` to ``to``.

    ``template`` is a path below ``templates/``, e.g. ``"accounts/emails/welcome"``.
    """
    context = {"frontend_url": settings.FRONTEND_URL, "shop_name": "SilkCart", **context}
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()
