from django.core.management.base import BaseCommand, CommandError

from apps.cart.services import purge_carts


class Command(BaseCommand):
    help = "Delete guest carts (and merged ones) not touched for --days days."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, days: int, **options) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1.")
        self.stdout.write(f"Deleted {purge_carts(days=days)} carts older than {days} days.")
