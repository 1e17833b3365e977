"""Production settings, the admin's login and the results API's read-only face.

`manage.py check --deploy` runs in a child process with a production environment (no
ESCRUTINIO_DEV, no DJANGO_DEBUG), as a deployment's pods have it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import ROOT

DEV_ONLY = (
    "ESCRUTINIO_DEV",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
)


def production_env(**changes: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in DEV_ONLY}
    env |= {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "escrutinio.example.org"}
    return env | changes


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_check_deploy_passes_with_the_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_the_production_safeguards_are_turned_off() -> None:
    """The test above can fail: the same check sees DEBUG and a plain-HTTP configuration."""
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_env(DJANGO_DEBUG="1", SECURE_SSL_REDIRECT="0"),
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG
    assert "security.W008" in result.stderr + result.stdout  # SECURE_SSL_REDIRECT


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_is_off_unless_asked_for() -> None:
    show = [
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.SECURE_SSL_REDIRECT)",
    ]
    assert manage(*show, env=production_env()).stdout.split() == ["False", "True"]
    assert manage(*show, env=production_env(DJANGO_DEBUG="1")).stdout.split()[0] == "True"


@pytest.mark.django_db
def test_the_admin_needs_a_staff_login() -> None:
    client = Client()
    answer = client.get("/admin/")
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")
    assert client.get("/admin/election/vote/").status_code == 302

    User.objects.create_user("observer", password="pw-observer-1")  # a user, not staff
    assert client.login(username="observer", password="pw-observer-1")
    assert client.get("/admin/election/vote/").status_code == 302  # still sent to the login

    User.objects.create_user("operator", password="pw-operator-1", is_staff=True, is_superuser=True)
    assert client.login(username="operator", password="pw-operator-1")
    assert client.get("/admin/election/vote/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/api/votes/", "/api/votes/latest", "/api/results/summary", "/api/results/top-sedes", "/api/catalogue/"],
)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_results_api_is_read_only(path: str, method: str, redis_client: Any) -> None:
    client = Client(enforce_csrf_checks=False)
    answer = getattr(client, method)(path, data={"total": 1}, content_type="application/json")
    assert answer.status_code == 405, (method, path, answer.status_code)
    assert client.get(path).status_code == 200
