"""CLI for the clinic database: ``db upgrade``, ``db status``, ``user add``, ``user list``,
``demo``, ``backup`` and ``restore``.

The database is chosen by ``--database-url``, else ``PEDBONE_DATABASE_URL``, else the SQLite
file in the per-user data folder. Passwords are read from a hidden prompt or from standard
input (``--password-stdin``), never from the command line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from pedbone.store import Database

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (sqlite:///file.sqlite3 or postgresql://user@host/db); default: "
        "PEDBONE_DATABASE_URL, else pedbone.sqlite3 in the per-user data folder.",
        show_default=False,
    ),
]

db_app = typer.Typer(help="Create, upgrade and inspect the clinic database.", no_args_is_help=True)
user_app = typer.Typer(help="Manage the people who sign in.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@contextmanager
def _database(url: str | None, *, upgrade: bool = True) -> Iterator[Database]:
    from pedbone.store import Database, StoreError

    try:
        db = Database(url, upgrade=upgrade)
    except StoreError as exc:
        raise _fail(str(exc)) from exc
    except Exception as exc:  # cannot connect, permission denied, ...
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise _fail(f"cannot open the database: {reason}") from exc
    try:
        yield db
    except StoreError as exc:
        raise _fail(str(exc)) from exc
    finally:
        db.dispose()


def _describe(db: Database) -> str:
    from sqlalchemy import make_url

    return make_url(db.url).render_as_string(hide_password=True)


# --------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create the tables or apply new migrations (the web application does this on start)."""
    from pedbone.store import current_revision

    with _database(database_url) as db:
        typer.echo(f"{_describe(db)} is at schema revision {current_revision(db.engine)}")


@db_app.command("status")
def db_status(database_url: DatabaseUrl = None) -> None:
    """Show the database, its schema revision and how many rows each table holds."""
    from sqlalchemy import func, select

    from pedbone.store import Base, current_revision, head_revision

    with _database(database_url, upgrade=False) as db:
        revision = current_revision(db.engine)
        head = head_revision()
        typer.echo(f"database: {_describe(db)}")
        state = "up to date" if revision == head else f"needs `pedbone db upgrade` to {head}"
        typer.echo(f"schema revision: {revision or '(empty)'} ({state})")
        if revision is None:
            return
        with db.engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                n = connection.execute(select(func.count()).select_from(table)).scalar_one()
                typer.echo(f"  {table.name:<24} {n:>8}")


# --------------------------------------------------------------------------- users


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise _fail("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    second = typer.prompt("Repeat password", hide_input=True)
    if first != second:
        raise _fail("the two passwords differ; nothing was changed")
    return str(first)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Sign-in name (no spaces).")],
    role: Annotated[
        str, typer.Option("--role", "-r", help="admin, clinician or researcher.")
    ] = "clinician",
    full_name: Annotated[str, typer.Option("--full-name", help="Name shown in the app.")] = "",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first input line."),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a user; the password is asked for (hidden) or read from standard input."""
    from pedbone.store import Role, create_user

    roles = [r.value for r in Role]
    if role not in roles:
        raise _fail(f"--role: {role!r} is not one of {', '.join(roles)}")
    password = _read_password(password_stdin)
    with _database(database_url) as db, db.unit_of_work() as session:
        user = create_user(session, username, password, role, full_name=full_name)
        typer.echo(f"added {user.role} {user.username!r} to {_describe(db)}")


@user_app.command("list")
def user_list(database_url: DatabaseUrl = None) -> None:
    """List the users, their roles and last sign-in."""
    from sqlalchemy import select

    from pedbone.store import User

    with _database(database_url) as db, db.unit_of_work() as session:
        users = session.scalars(select(User).order_by(User.username)).all()
        if not users:
            typer.echo("no users yet: add one with `pedbone user add NAME --role admin`")
            return
        for user in users:
            state = "" if user.active else "  (disabled)"
            last = user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at else "-"
            typer.echo(f"{user.username:<20} {user.role:<11} last sign-in {last}{state}")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="Whose password to set.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first input line."),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a user's password (hidden prompt or standard input)."""
    from sqlalchemy import select

    from pedbone.store import User, set_password

    password = _read_password(password_stdin)
    with _database(database_url) as db, db.unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise _fail(f"no user {username!r}")
        set_password(user, password)
        typer.echo(f"password of {username!r} changed")


@user_app.command("disable")
def user_disable(
    username: Annotated[str, typer.Argument(help="Who may no longer sign in.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Disable (or with --enable, re-enable) an account; its history stays in the audit log."""
    from sqlalchemy import select

    from pedbone.store import User

    with _database(database_url) as db, db.unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise _fail(f"no user {username!r}")
        user.active = enable
        if not enable:
            from pedbone.store import end_user_sessions

            end_user_sessions(session, user.id)  # signed-in browsers are logged out now
        typer.echo(f"{username!r} {'enabled' if enable else 'disabled'}")


@user_app.command("unlock")
def user_unlock(
    username: Annotated[str, typer.Argument(help="Whose failed-login lock to lift.")],
    address: Annotated[
        str | None, typer.Option("--address", help="Also lift the lock of this client address.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Lift a login lock after too many failed attempts (the password is unchanged)."""
    from pedbone.store import clear_throttle

    with _database(database_url) as db, db.unit_of_work() as session:
        clear_throttle(session, username, address)
    typer.echo(f"login lock of {username!r}{f' and {address}' if address else ''} lifted")


# --------------------------------------------------------------------------- demo, backup


def demo_command(
    no_user: Annotated[
        bool, typer.Option("--no-user", help="Do not create the demo clinician account.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add fictional demo patients ("Demo, Patient 01", ...; flagged demo) to try the app.

    If the database has no user yet, a clinician "demo" is created with a random password,
    printed once.
    """
    import secrets

    from sqlalchemy import func, select

    from pedbone.store import User, create_user
    from pedbone.store._demo import create_demo_patients

    with _database(database_url) as db, db.unit_of_work() as session:
        added = create_demo_patients(session)
        if added:
            typer.echo(f"added {len(added)} fictional demo patients to {_describe(db)}")
        else:
            typer.echo(f"{_describe(db)} already has the demo patients")
        if not no_user and not session.scalar(select(func.count()).select_from(User)):
            password = secrets.token_urlsafe(12)
            create_user(session, "demo", password, "clinician", full_name="Demo clinician")
            typer.echo(f"sign in as: demo   password: {password}   (shown once)")


def backup_command(
    dest: Annotated[Path, typer.Argument(help="New file: .sqlite3 (SQLite) or .json / .json.gz")],
    database_url: DatabaseUrl = None,
) -> None:
    """Back up the database: SQLite online backup, or a portable JSON file (any database)."""
    from pedbone.store._backup import backup

    with _database(database_url) as db:
        path = backup(db, dest)
        typer.echo(f"backed up {_describe(db)} to {path}")


def restore_command(
    src: Annotated[Path, typer.Argument(help="A file written by `pedbone backup`.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete everything in the database first.")
    ] = False,
    no_verify: Annotated[
        bool,
        typer.Option(
            "--no-verify",
            help="Restore a backup without a checksum (made by an older pedbone). Only for a "
            "file you trust: its content cannot be checked.",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Restore a backup into an empty database (or replace the contents with --replace).

    The backup's checksum is verified first; a changed, truncated or damaged backup is refused
    and the database is left as it was (exit status 2, a message, never a traceback).
    """
    from pedbone.store import StoreError
    from pedbone.store._backup import restore

    with _database(database_url) as db:
        try:
            summary = restore(db, src, replace=replace, verify=not no_verify)
        except StoreError:
            raise
        except Exception as exc:  # never a traceback: it would show rows (patient data)
            raise _fail(
                f"the restore failed ({type(exc).__name__}); nothing was restored and the "
                "database is as it was"
            ) from None
        typer.echo(f"restored {summary.total} rows from {src} into {_describe(db)}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root application."""
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.command("demo")(demo_command)
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
