"""Bad stores and bad values get errors that name the problem and the fix."""

import math

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import loopml
from loopml.config import Settings
from loopml.errors import ArtifactCorrupt, InvalidInput, SchemaMismatch, StoreUnavailable
from loopml.store import Store
from loopml.store.migrate import HEAD


def _unreachable(store_url: str, tmp_path) -> str:
    """The same kind of store, somewhere it cannot be reached."""
    if store_url.startswith("sqlite"):
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the store's folder should be")
        return f"sqlite:///{blocker / 'loopml.db'}"
    return make_url(store_url).set(port=1).render_as_string(hide_password=False)


def test_an_unreachable_store_says_where_and_what_to_check(store_url, tmp_path):
    url = _unreachable(store_url, tmp_path)
    loopml.configure(Settings(home=tmp_path / "home", store_url=url))
    with pytest.raises(StoreUnavailable) as raised:
        loopml.start_run(experiment="demand")
    error = raised.value
    assert make_url(url).render_as_string(hide_password=True) in error.message
    assert "LOOPML_STORE_URL" in error.hint


@pytest.fixture
def newer_schema(store_url):
    """The store claims a schema version this loopml has never heard of."""
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    yield store_url
    with engine.begin() as connection:  # the PostgreSQL database is reused by later tests
        connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": HEAD})
    engine.dispose()


def test_a_store_with_a_newer_schema_is_refused_untouched(newer_schema, tmp_path):
    loopml.configure(Settings(home=tmp_path / "home", store_url=newer_schema))
    with pytest.raises(SchemaMismatch) as raised:
        loopml.start_run(experiment="demand")
    assert "'9999_future'" in raised.value.message
    assert "newer than this loopml understands" in raised.value.message
    assert "pip install -U loopml" in raised.value.hint
    engine = create_engine(newer_schema)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "9999_future"
        assert connection.scalar(text("SELECT count(*) FROM runs")) == 0
    engine.dispose()


def test_a_store_with_a_newer_schema_is_refused_by_db_upgrade_too(newer_schema):
    store = Store(newer_schema)
    with pytest.raises(SchemaMismatch, match="9999_future"):
        store.upgrade()
    store.dispose()


def test_a_changed_artifact_is_refused_on_read(ctx, tmp_path):
    with loopml.start_run() as run:
        loopml.log_text("alpha,mae\n0.1,3.2\n", "results.csv")
    digest = loopml.get_run(run.id).artifacts[0].digest
    blob = ctx.artifacts.local_path(digest)
    blob.write_bytes(b"alpha,mae\n0.1,0.0\n")  # someone edits the stored file
    with pytest.raises(ArtifactCorrupt) as raised:
        loopml.load_artifact(run.id, "results.csv")
    assert "does not match its sha256" in raised.value.message
    assert "log the artifact again" in raised.value.hint
    destination = tmp_path / "out" / "results.csv"
    with pytest.raises(ArtifactCorrupt):
        loopml.download_artifact(run.id, "results.csv", str(destination))
    assert not destination.exists()
    assert list(destination.parent.iterdir()) == []  # no partial file left behind


def test_nan_is_kept_as_a_metric_value(ctx):
    with loopml.start_run() as run:
        loopml.log_metric("loss", 1.0)
        loopml.log_metric("loss", float("nan"))
        loopml.log_metric("loss", math.inf)
        loopml.log_metrics({"gap": np.float32("nan")})
    history = [p.value for p in loopml.get_metric_history(run.id, "loss")]
    assert history[0] == 1.0 and math.isnan(history[1])
    stored = loopml.get_run(run.id)
    assert math.isnan(stored.metrics["gap"])


@pytest.mark.parametrize("value", ["high", b"3", None, True, [1.0]])
def test_a_metric_that_is_not_a_number_is_refused(sqlite_ctx, value):
    with loopml.start_run() as run:
        with pytest.raises(InvalidInput) as raised:
            loopml.log_metric("mae", value)
        assert f"Metric 'mae' got {value!r}" in raised.value.message
        assert "metrics are numbers" in raised.value.message
    assert loopml.get_metric_history(run.id, "mae") == []


def test_a_bad_value_in_log_metrics_logs_none_of_the_batch(ctx):
    with loopml.start_run() as run:
        with pytest.raises(InvalidInput, match="'r2' got 'n/a'"):
            loopml.log_metrics({"mae": 3.0, "r2": "n/a"})
        loopml.log_metric("mae", 2.0)
    assert [p.value for p in loopml.get_metric_history(run.id, "mae")] == [2.0]


@pytest.mark.parametrize("step", [1.5, "3", True])
def test_a_step_that_is_not_a_whole_number_is_refused(sqlite_ctx, step):
    with loopml.start_run(), pytest.raises(InvalidInput, match="a step is a whole number"):
        loopml.log_metric("mae", 1.0, step=step)


@pytest.mark.parametrize("key", ["", "   ", 3, "k" * 251])
def test_a_bad_metric_name_is_refused(sqlite_ctx, key):
    with loopml.start_run(), pytest.raises(InvalidInput, match=r"Metric name .* is not valid"):
        loopml.log_metric(key, 1.0)


def test_a_param_cannot_change_once_logged(ctx):
    with loopml.start_run() as run:
        loopml.log_param("alpha", 0.1)
        loopml.log_param("alpha", 0.1)  # the same value again is fine
        with pytest.raises(loopml.Conflict, match=r"'alpha' .* is already '0\.1'"):
            loopml.log_params({"beta": 1, "alpha": 0.2})
    assert loopml.get_run(run.id).params == {"alpha": "0.1"}
