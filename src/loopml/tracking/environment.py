"""What a run records about where it ran: code version, interpreter, packages, host.

Captured once per process: the answers do not change while it lives, and a
training loop that starts thousands of runs should not fork git thousands of times.
"""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata

KEY_PACKAGES = (
    "loopml",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "lightgbm",
    "xgboost",
    "scipy",
)


@dataclass(frozen=True)
class Environment:
    git_commit: str | None
    git_dirty: bool | None
    host: str
    python: str
    platform: str
    packages: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"python": self.python, "platform": self.platform, "packages": self.packages}


@functools.lru_cache(maxsize=8)
def capture(cwd: str | None = None) -> Environment:
    commit, dirty = _git_state(cwd or os.getcwd())
    return Environment(
        git_commit=commit,
        git_dirty=dirty,
        host=socket.gethostname(),
        python=sys.version.split()[0],
        platform=platform.platform(terse=True),
        packages=_package_versions(),
    )


def _git_state(cwd: str) -> tuple[str | None, bool | None]:
    try:
        commit = _git(cwd, "rev-parse", "HEAD")
        dirty = bool(_git(cwd, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, dirty


def _git(cwd: str, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
    )
    return result.stdout.strip()


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
