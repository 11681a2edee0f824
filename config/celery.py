import os

from celery import Celery
from celery.signals import task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _connections_checked(**kwargs) -> None:
    """Worker threads keep their database connection from task to task (CELERY_DB_REUSE_MAX): a new PostgreSQL
    connection costs more than a callback delivery. One that broke or outlived CONN_MAX_AGE is replaced here."""
    from django.db import close_old_connections

    close_old_connections()


@worker_init.connect
def _worker_connections_checked(**kwargs) -> None:
    # Only in a worker: a task run in-process elsewhere (a test, a shell) must not close its caller's connection.
    task_prerun.connect(_connections_checked, weak=False)
