"""How serving writes Parquet: dictionary encoding only for columns whose values repeat.

Parquet writers dictionary-encode every column by default. Floating-point
columns (features, probabilities) rarely repeat a value, and building their
dictionaries was most of the time of writing a million scored rows (4x).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def writer_options(schema: pa.Schema) -> dict[str, Any]:
    return {"use_dictionary": [f.name for f in schema if not pa.types.is_floating(f.type)]}
