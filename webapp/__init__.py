"""Taskdeck: a server-rendered, multi-user task manager."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from jinja2 import StrictUndefined
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .config import DEV_SECRET_KEY, Config, config_from_env, finish_config
from .json_provider import OrjsonProvider
from .services.text import MAX_ID

ROOT = Path(__file__).resolve().parent.parent


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` limited to what our INTEGER id columns hold (PostgreSQL's is 32-bit), so a
    huge id is simply not found instead of failing in the database."""

    def __init__(self, url_map, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, **kwargs)


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    """Build the application: configuration, extensions, blueprints, handlers, commands."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    # Before anything creates the Jinja environment, whose `tojson` filter takes app.json.
    app.json = OrjsonProvider(app)
    app.config.from_object(config_class or config_from_env())
    app.config.update(overrides)
    finish_config(app.config)
    check_config(app)
    if proxies := app.config["TRUSTED_PROXY_COUNT"]:
        # Behind that many proxies the client address, scheme and host come from X-Forwarded-*.
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["ENV_NAME"] != "production":
        app.jinja_env.undefined = StrictUndefined
    from .logging import configure_logging
    from .security import register_security
    configure_logging(app)  # first, so every later hook and error has a request id
    from .request_guard import register_request_guard

    # Before the extensions: CSRF and the rate limiter read the body in their own hooks.
    register_request_guard(app)

    app.url_map.converters["int"] = DatabaseIdConverter
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    from .live import init_live

    init_live(app)  # after the blueprints: its session hooks need the models, its bus the config
    from .templating import register_template_helpers

    register_template_helpers(app)
    from .errors import register_error_handlers

    register_error_handlers(app)
    from .cli import register_commands

    register_commands(app)
    if app.config["METRICS_ENABLED"]:
        from .metrics import init_metrics  # imports prometheus_client: only when wanted

        init_metrics(app)
    return app


def check_config(app: Flask) -> None:
    """Refuse to start in production with settings that would be unsafe."""
    if app.config["ENV_NAME"] == "production":
        key = app.config.get("SECRET_KEY")
        if not key or key == DEV_SECRET_KEY or len(key) < 16:
            raise RuntimeError("SECRET_KEY must be set (16+ characters) when APP_ENV=production.")
    if app.config["METRICS_ENABLED"] and len(app.config.get("METRICS_TOKEN") or "") < 16:
        raise RuntimeError("METRICS_TOKEN must be set (16+ characters) when METRICS_ENABLED is on.")


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (the models must be known to Alembic)
    from .extensions import cache, csrf, db, htmx, limiter, login_manager, migrate
    from .services.users import load_session_user

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    from .request_guard import GuardedRequest

    app.request_class = GuardedRequest  # extends the class htmx-flask has just installed
    limiter.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)

    from .auth.views import unauthorized

    login_manager.unauthorized_handler(unauthorized)


def register_blueprints(app: Flask) -> None:
    from .account.views import bp as account_bp
    from .admin.views import bp as admin_bp
    from .api import register_api
    from .attachments.views import bp as attachments_bp
    from .audit.views import bp as audit_bp
    from .auth.views import bp as auth_bp
    from .comments.views import bp as comments_bp
    from .dashboard.views import bp as dashboard_bp
    from .enrichment.views import bp as enrichment_bp
    from .labels.views import bp as labels_bp
    from .main.views import bp as main_bp
    from .tasks.views import bp as tasks_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(enrichment_bp)
    app.register_blueprint(labels_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(account_bp)
    register_api(app)
    app.register_blueprint(audit_bp)
