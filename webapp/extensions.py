"""Flask extensions, created unbound here and initialised in the factory."""

import logging
import sqlite3

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

from . import ratelimit_storage  # noqa: F401 (registers the taskdeck+redis:// storage scheme)

# Named constraints so Alembic migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

log = logging.getLogger("webapp.database")


class SessionSafeSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy whose end-of-request clean-up can never fail a finished response.

    The session is closed after the view has built its answer (teardown). When the database
    connection died in between (PostgreSQL restarted, the connection was killed), the ROLLBACK
    that closing sends fails; left alone the error escapes the WSGI call and the server
    answers a bare 500 instead of the 201 the app made. The connection is useless either
    way: it is invalidated (the pool opens a new one) and the error is logged in one line.
    """

    def _teardown_session(self, exc: BaseException | None) -> None:
        try:
            self.session.remove()
        except Exception as error:  # noqa: BLE001 (nothing can be done for this request)
            log.warning("discarded the request's database session: %s",
                        str(error).strip().splitlines()[0] if str(error).strip() else
                        type(error).__name__, extra={"event": "session_discarded"})
            discard_session(self.session)


def discard_session(session) -> None:
    """Drop a scoped session whose connection may be dead, without raising."""
    try:
        session.registry().invalidate()
    except Exception:  # noqa: BLE001, S110 (already broken: the pool replaces it)
        pass
    session.registry.clear()


db = SessionSafeSQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate(render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
# Rate limits and caches live in Redis when REDIS_URL is set, in process memory otherwise
# (see Config.RATELIMIT_STORAGE_URI and Config.CACHE_TYPE).
limiter = Limiter(key_func=get_remote_address)
cache = Cache()


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:
    """Turn on foreign keys, WAL and a busy timeout on every SQLite connection."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
