from alembic.script import ScriptDirectory

from loopml.store.migrate import HEAD, alembic_config


def test_migrations_form_one_chain_ending_at_head():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [HEAD]
    revisions = list(scripts.walk_revisions())
    assert revisions[-1].down_revision is None
    assert len({r.revision for r in revisions}) == len(revisions)
