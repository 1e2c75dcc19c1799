import unicodedata

from django.db import migrations, models


def fold(text: str) -> str:
    # apps.core.validation.fold, as it was when this migration was written
    return unicodedata.normalize("NFKC", (text or "").strip()).casefold()


def fill_email_keys(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    owners: dict[str, str] = {}
    for user in User.objects.only("pk", "email").iterator():
        key = fold(user.email)
        if key in owners:
            raise RuntimeError(
                f"The accounts {owners[key]} and {user.email} are one address once folded: "
                "change one of them before migrating."
            )
        owners[key] = user.email
        User.objects.filter(pk=user.pk).update(email_key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_key",
            field=models.CharField(editable=False, max_length=254, null=True),
        ),
        migrations.RunPython(fill_email_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="email_key",
            field=models.CharField(editable=False, max_length=254, unique=True),
        ),
    ]
