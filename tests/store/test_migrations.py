import uuid

import pytest
from alembic.script import ScriptDirectory
from tests.conftest import PG_SERVER, _admin

from loopml.store.migrate import HEAD, alembic_config


def test_migrations_form_one_chain_ending_at_head():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [HEAD]
    revisions = list(scripts.walk_revisions())
    assert revisions[-1].down_revision is None
    assert len({r.revision for r in revisions}) == len(revisions)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_audit_events_written_before_segments_had_a_column_are_found_by_segment(backend, tmp_path):
    """An older store's events get their segment from their payload when it upgrades."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from loopml import audit
    from loopml.store import Store

    url = f"sqlite:///{tmp_path / 'old.db'}"
    if backend == "postgres":
        name = f"loopml_migrate_{uuid.uuid4().hex[:10]}"
        _admin(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER}/{name}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0013")
            insert = text(
                "INSERT INTO audit_events (time, actor, action, entity_type, entity_id, "
                "before, after) VALUES (:time, 'olive', :action, 'model', 'demand', "
                "CAST(:before AS {json}), CAST(:after AS {json}))".format(
                    json="JSONB" if backend == "postgres" else "TEXT"
                )
            )
            events = [
                ("alias.set", None, '{"segment": "store=1", "version": 1}'),
                ("alias.delete", '{"segment": "store=2", "version": 1}', None),
                ("model.update", None, '{"segment": {"store": 3}}'),  # not text: no segment
                ("gate.set", None, None),
            ]
            for n, (action, before, after) in enumerate(events):
                connection.execute(
                    insert,
                    {
                        "time": f"2026-01-0{n + 1} 10:00:00",
                        "action": action,
                        "before": before,
                        "after": after,
                    },
                )
            connection.commit()
        store = Store(url)
        store.upgrade()
        found = {
            s: [e.action for e in audit.list_events(store, entity_id="demand", segment=s)]
            for s in ("store=1", "store=2", "")
        }
        assert found == {
            "store=1": ["alias.set"],
            "store=2": ["alias.delete"],
            "": ["gate.set", "model.update"],
        }
        store.dispose()
    finally:
        engine.dispose()
        if backend == "postgres":
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
