"""The tables of the metadata store, one module per concept.

Rows are persistence only; each converts itself to the frozen domain object the
library returns. A new concept adds a module here and imports it below, so that
``Base.metadata`` (and with it Alembic) knows the whole schema.
"""

from loopml.store.tables.audit import AuditEventRow
from loopml.store.tables.auth import TokenRow, UserRow
from loopml.store.tables.automation import PolicyActionRow
from loopml.store.tables.base import Base
from loopml.store.tables.datasets import (
    DatasetRow,
    DatasetRulesRow,
    DatasetVersionRow,
    RunInputRow,
)
from loopml.store.tables.federated import FederationMemberRow, FederationRow
from loopml.store.tables.monitoring import AlertRow, MonitorResultRow, MonitorRow
from loopml.store.tables.registry import (
    AliasMoveRow,
    AliasRow,
    ApprovalRow,
    ModelRow,
    ModelVersionDatasetRow,
    ModelVersionRow,
    VersionReportRow,
)
from loopml.store.tables.tracking import (
    ArtifactRow,
    ExperimentRow,
    LatestMetricRow,
    MetricRow,
    ParamRow,
    ProjectRow,
    RunRow,
    TagRow,
)

__all__ = [
    "AlertRow",
    "AliasMoveRow",
    "AliasRow",
    "ApprovalRow",
    "ArtifactRow",
    "AuditEventRow",
    "Base",
    "DatasetRow",
    "DatasetRulesRow",
    "DatasetVersionRow",
    "ExperimentRow",
    "FederationMemberRow",
    "FederationRow",
    "LatestMetricRow",
    "MetricRow",
    "ModelRow",
    "ModelVersionDatasetRow",
    "ModelVersionRow",
    "MonitorResultRow",
    "MonitorRow",
    "ParamRow",
    "PolicyActionRow",
    "ProjectRow",
    "RunInputRow",
    "RunRow",
    "TagRow",
    "TokenRow",
    "UserRow",
    "VersionReportRow",
]
