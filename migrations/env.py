"""Alembic environment: runs migrations with the engine settings the service itself uses."""

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine, event

from cases.database import make_engine
from cases.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = _migration_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            _check_foreign_keys(connection)
    engine.dispose()


def _migration_engine(url: str) -> Engine:
    """The service's engine, except that on SQLite foreign keys are off while migrating.

    A batch migration rebuilds a table (create the new one, copy, ``DROP`` the old, rename). With
    foreign keys on, that ``DROP`` first deletes the old rows, which is refused or, through
    ``ON DELETE CASCADE``, silently empties the tables that point at it: a downgrade or an upgrade
    of a database with cases in it would lose parties and notices. SQLite's own procedure for
    such changes is keys off during the change and ``PRAGMA foreign_key_check`` before the commit
    (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes");
    the pragma only takes effect outside a transaction, hence on connect."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _keys_off(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    return engine


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse (and so roll back) a SQLite migration that left a row pointing at nothing."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration left {len(broken)} rows with a broken foreign key, "
                           f"first in table {broken[0][0]!r}; nothing was changed")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
