"""Starting loopml code in a fresh interpreter, for the tests that need one."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def python(code: str, env: dict[str, str], *args: str, **popen) -> subprocess.Popen:
    """Start ``code`` in a fresh interpreter."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
