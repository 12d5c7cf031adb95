from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.subprocesses import manage_check

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_answers_503_when_the_database_does_not(tmp_path):
    """A real process whose database is a PostgreSQL port where nothing listens."""
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz'); print(r.status_code, r.json()['database'])"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
        "PYTHONPATH": str(ROOT / "src"),
        "COMPTOIR_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.split() == ["503", "unreachable"], result.stderr


@pytest.mark.django_db
def test_every_page_shows_the_environment_banner_outside_production(client, settings):
    settings.LANGUAGE_CODE = "en"
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert b"phase-banner" in response.content
    assert b"This is the development environment" in response.content


def _start_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return manage_check(env, drop=("SECRET_KEY", "ALLOWED_HOSTS", "EMAIL_"))


def test_production_refuses_to_start_and_names_what_is_missing(tmp_path):
    result = _start_settings({"COMPTOIR_ENVIRONMENT": "production", "DEBUG": "0"})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "refuses to start in production without" in last_line
    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "EMAIL_HOST",
        "COMPTOIR_SEAL_KEY_FILE",
        "COMPTOIR_SEAL_CERT_FILE",
    ):
        assert name in last_line


def test_production_reads_the_secret_key_from_a_file_and_starts(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("x" * 60)
    result = _start_settings(
        {
            "COMPTOIR_ENVIRONMENT": "production",
            "DEBUG": "0",
            "SECRET_KEY_FILE": str(key_file),
            "ALLOWED_HOSTS": "portal.example.test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "EMAIL_HOST": "127.0.0.1",
            "COMPTOIR_SEAL_KEY_FILE": str(tmp_path / "seal.key"),
            "COMPTOIR_SEAL_CERT_FILE": str(tmp_path / "seal.pem"),
            "COMPTOIR_VAR_DIR": str(tmp_path),
        }
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "secret_key").exists()
