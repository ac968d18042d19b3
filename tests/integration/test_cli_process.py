"""The installed ``loopml`` command: a headline and a fix, a traceback only with --debug."""

import subprocess
import sys
from pathlib import Path

LOOPML = str(Path(sys.executable).parent / "loopml")


def loopml(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([LOOPML, *args], env=env, capture_output=True, text=True, timeout=60)


def test_an_error_is_a_headline_and_a_fix(process_env):
    result = loopml("runs", "show", "f" * 32, env=process_env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: No run with id {'f' * 32}.",
        "Fix: `loopml runs list` shows the runs.",
    ]


def test_debug_shows_the_traceback(process_env):
    result = loopml("--debug", "runs", "show", "f" * 32, env=process_env)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "loopml.errors.NotFound: No run with id" in result.stderr


def test_version_and_help(process_env):
    assert loopml("--version", env=process_env).stdout.startswith("loopml ")
    help_text = loopml("--help", env=process_env).stdout
    for group in ("experiments", "runs", "db"):
        assert group in help_text
