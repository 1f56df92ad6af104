"""A "Question authors" group: give instructors staff status and this group to edit and add questions
in the admin (answers, attempts and review cards stay read-only for them)."""

from django.db import migrations

GROUP = "Question authors"
PERMISSIONS = [
    ("question", ("add", "change", "view")),
    ("answer", ("view",)),
    ("attempt", ("view",)),
]


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    quizzes = apps.get_app_config("quizzes")
    quizzes.models_module = True
    create_permissions(quizzes, apps=apps, verbosity=0)
    quizzes.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    codenames = [f"{action}_{model}" for model, actions in PERMISSIONS for action in actions]
    group.permissions.add(*Permission.objects.filter(content_type__app_label="quizzes", codename__in=codenames))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("quizzes", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
