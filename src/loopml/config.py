"""Settings, read once from ``LOOPML_*`` environment variables and passed down.

Nothing below this module reads the environment: a component receives the
settings object (or the one value it needs) from whoever builds it.
"""

from __future__ import annotations

import getpass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


class Settings(BaseSettings):
    """Every loopml setting. Each field is also the variable ``LOOPML_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="LOOPML_", extra="ignore")

    home: Path = Field(
        default=Path("~/.loopml"),
        description="Folder of the embedded store: the SQLite file and the artifacts.",
    )
    store_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata store; default: SQLite under `home`. "
        "Teams use postgresql+psycopg://user@host/db.",
    )
    artifact_uri: str | None = Field(
        default=None,
        description="fsspec URI of the artifact store; default: `home`/artifacts. s3:// needs loopml[s3].",
    )
    private_files: bool = Field(
        default=True,
        description="Files and folders loopml creates on this machine (the SQLite store, "
        "artifacts, prediction logs) are readable by their owner only (0600 files in 0700 "
        "folders); false leaves them to the umask.",
    )
    project: str = Field(default="default", description="Project that new experiments belong to.")
    actor: str = Field(
        default_factory=_default_actor,
        description="Name recorded as the actor of audit events and the user of runs (the "
        "server records the signed-in user instead).",
    )
    auth: bool = Field(
        default=False,
        description="Require sign-in on every route of the server; always on when "
        "`loopml serve` listens on an address other than loopback (see docs/security.md).",
    )
    approval_max_age_hours: float = Field(
        default=168.0,
        gt=0,
        description="Hours after which a pending approval request expires instead of being "
        "approved.",
    )
    auto_upgrade: bool = Field(
        default=True,
        description="Bring an older store schema up to date on first use (else run `loopml db upgrade`).",
    )
    metric_flush_size: int = Field(
        default=10_000, ge=1, description="Buffered metric points that trigger a write."
    )
    metric_flush_interval: float = Field(
        default=2.0, gt=0, description="Seconds after which buffered metric points are written."
    )

    run_heartbeat_interval: float = Field(
        default=10.0, gt=0, description="Seconds between a running run's heartbeats."
    )
    run_heartbeat_timeout: float = Field(
        default=300.0,
        gt=0,
        description="Seconds without a heartbeat after which a run whose process died is "
        "marked `killed` (by the next process that starts or reads runs).",
    )
    trusted_model_types: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Fully qualified class names that model files may use beyond loopml's "
        "allow-list, comma-separated (see docs/security-models.md). Only for types you have "
        "checked: a listed type may run code when a model file is loaded.",
    )

    alert_webhook: str | None = Field(
        default=None,
        description="URL that receives every alert event as JSON, unless a monitor names its own.",
    )
    serving_config: Path | None = Field(
        default=None,
        description="YAML file of deployments: canary, shadow, fallback and strictness per model "
        "(see docs/serving.md).",
    )
    serving_poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds between a server's checks for alias moves."
    )
    serving_max_models: int = Field(
        default=2000,
        ge=1,
        description="Most model versions a server keeps loaded; past it the least recently "
        "used are dropped and load again on their next request (a segment family of 10,000 "
        "serves within this memory budget).",
    )
    serving_max_batch_rows: int = Field(
        default=1024, ge=1, description="Most rows one model call takes when requests are batched."
    )
    serving_max_wait_ms: float = Field(
        default=0.0,
        ge=0,
        description="Longest a busy server waits to fill a batch (0: it scores what has queued "
        "up while the previous batch ran).",
    )
    serving_log_flush_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds after which logged predictions and labels are written: the most a "
        "server killed without warning (SIGKILL, power loss) loses of its prediction log.",
    )
    serving_log_predictions: bool = Field(
        default=True, description="Append every answered prediction to the prediction log."
    )
    serving_attribution_rate: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Share of answered rows explained for the prediction log (0: none), off "
        "the request path; at most serving_attribution_rows per model and hour.",
    )
    serving_attribution_rows: int = Field(
        default=100, ge=0, description="Most rows per model and hour explained for the log."
    )
    serving_attribution_top: int = Field(
        default=5, ge=1, description="Contributions kept per explained row, largest first."
    )

    serving_max_rows: int = Field(
        default=100_000, ge=1, description="Most rows one scoring request may send."
    )
    serving_max_values: int = Field(
        default=1_000_000,
        ge=1,
        description="Most JSON values (numbers, strings, lists, objects) one request body may "
        "hold; counted while the body arrives, so a body of millions of tiny rows is refused "
        "before it is parsed.",
    )

    server_max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1, description="Largest request body the server reads."
    )
    server_header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a connection may take to send a request's headers (counted from "
        "its opening or its previous answer); then it is closed.",
    )
    server_keep_alive_timeout: float = Field(
        default=5.0, gt=0, description="Seconds an idle keep-alive connection stays open."
    )
    server_body_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a client may take to send a request body; then it gets a 408.",
    )
    server_limit_concurrency: int = Field(
        default=1000,
        ge=1,
        description="Most connections and requests at once; beyond it the server answers 503.",
    )
    server_max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Largest request line plus headers, in bytes."
    )

    project_file: Path = Field(
        default=Path("loopml.yaml"),
        description="The project file whose policies the server's scheduler runs.",
    )
    scheduler_interval: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between the server's runs of due monitors and policies.",
    )
    scheduler: bool = Field(
        default=True, description="Run monitors and policies inside `loopml serve`."
    )

    @field_validator("trusted_model_types", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return (
            [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        )

    @property
    def home_path(self) -> Path:
        return self.home.expanduser()

    @property
    def approval_max_age(self) -> timedelta:
        return timedelta(hours=self.approval_max_age_hours)

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.home_path / 'loopml.db'}"

    @property
    def resolved_artifact_uri(self) -> str:
        return self.artifact_uri or str(self.home_path / "artifacts")
