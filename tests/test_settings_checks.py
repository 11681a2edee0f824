"""The platform refuses to start on a missing or malformed setting, and says which one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DJANGO_DEBUG": "0"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG"),
        ({"DATABASE_URL": "mysql://root@localhost/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
        ({"INVOICE_EXPIRY_SECONDS": "soon"}, "INVOICE_EXPIRY_SECONDS"),
    ],
)
def test_a_bad_setting_stops_startup_naming_the_variable(env, named, tmp_path):
    result = start(PLATFORM_VAR_DIR=str(tmp_path), **env)

    assert result.returncode != 0
    assert named in result.stderr


def test_production_settings_start_when_complete(tmp_path):
    result = start(
        PLATFORM_VAR_DIR=str(tmp_path), DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="pay.example.com"
    )

    assert result.returncode == 0, result.stderr
