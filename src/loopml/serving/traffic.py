"""How each model's traffic is split: champion, canary, shadow, fallback, strictness.

A deployment is configured per model (in a YAML file named by
``LOOPML_SERVING_CONFIG``, or passed to ``create_app``)::

    models:
      demand:
        canary_percent: 10      # the challenger answers 10% of rows ...
        sticky_key: customer    # ... always the same customers
        shadow: false           # or: the challenger scores everything, logged only
        fallback: demand-global # unknown segments go to this model's champion
        strict: false           # true: refuse rows outside the training data
"""

from __future__ import annotations

import random
import zlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from loopml.errors import InvalidInput


class Deployment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alias: str = Field("champion", description="Alias that answers requests.")
    challenger: str = Field("challenger", description="Alias of the canary or shadow version.")
    canary_percent: float = Field(
        0.0, ge=0, le=100, description="Share of rows the challenger answers (0 to 100)."
    )
    sticky_key: str | None = Field(
        None, description="Row field whose value keeps a caller on one side of the canary."
    )
    shadow: bool = Field(
        False, description="The challenger scores every row; logged, never returned."
    )
    fallback: str | None = Field(
        None, description="Model whose champion answers rows of a segment that has none."
    )
    strict: bool = Field(False, description="Refuse rows outside the training data's rules.")

    @model_validator(mode="after")
    def _one_role(self) -> Deployment:
        if self.shadow and self.canary_percent:
            raise ValueError("a challenger is either a canary or a shadow, not both")
        return self

    def takes_challenger(self, rows, index: int, draw: float) -> bool:
        """Whether row ``index`` goes to the challenger: by its sticky key's hash, else
        by the request's random ``draw`` (so one request stays on one side)."""
        if not self.canary_percent:
            return False
        if self.sticky_key and rows.columns.get(self.sticky_key) is not None:
            value = rows.columns[self.sticky_key][index]
            if value is not None:
                bucket = zlib.crc32(str(value).encode()) % 10_000
                return bucket < self.canary_percent * 100
        return draw * 100 < self.canary_percent


class ServingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Deployment = Field(default_factory=Deployment)
    models: dict[str, Deployment] = Field(default_factory=dict)

    def for_model(self, name: str) -> Deployment:
        return self.models.get(name, self.default)

    @classmethod
    def load(cls, path: Path | str | None) -> ServingConfig:
        if path is None:
            return cls()
        import yaml

        path = Path(path)
        try:
            data: Any = yaml.safe_load(path.read_text()) or {}
            return cls.model_validate(data)
        except FileNotFoundError:
            raise InvalidInput(
                f"Serving config {path} does not exist.",
                hint="Point LOOPML_SERVING_CONFIG at a YAML file, or unset it.",
            ) from None
        except (yaml.YAMLError, ValueError) as error:
            raise InvalidInput(
                f"Serving config {path} is not valid: {error}",
                hint="See docs/serving.md for the deployment settings.",
            ) from None


def request_draw() -> float:
    return random.random()
