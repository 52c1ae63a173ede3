"""`emoheal forget`, `emoheal retention` and `emoheal store`: a person's erasure, the retention
window, and the store's schema (migrations), from the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path

from emoheal.cli._io import load_params_file
from emoheal.cli.errors import CommandError, UsageError

STORE_HELP = ("the store: a database URL or an SQLite file (default: EMOHEAL_STORE_URL, else serving.store_url, "
              "else serving.store_file in --params)")


def _store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help=STORE_HELP)
    parser.add_argument("--params", default="params.yaml", help="composed params (the serving section)")


def register(sub: argparse._SubParsersAction) -> None:
    forget = sub.add_parser("forget", help="erase a person: profile, sessions, ratings and what they taught")
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="a local profile's name (the session command's --user)")
    who.add_argument("--token", help="an API profile's bearer token (as the person gave it; never logged)")
    _store_arguments(forget)
    forget.set_defaults(func=forget_command)
    retention = sub.add_parser("retention", help="delete sessions, ratings and monitoring records older than the "
                                                 "retention window")
    retention.add_argument("--days", type=float, help="the window (default: serving.retention_days)")
    _store_arguments(retention)
    retention.set_defaults(func=retention_command)
    store = sub.add_parser("store", help="the store's schema: upgrade it to the newest migration, or show where "
                                         "it stands")
    store.add_argument("action", choices=("upgrade", "current"))
    _store_arguments(store)
    store.set_defaults(func=store_command)


def _engine(args: argparse.Namespace, migrate: bool = True):
    """The store named by --store, EMOHEAL_STORE_URL or the params file. An SQLite file that is not
    there is refused, not created: a typo must not start an empty store."""
    from emoheal.store.database import as_url, open_store
    from emoheal.store.engine import URL_ENV, store_url

    if args.store or os.environ.get(URL_ENV):
        url = as_url(args.store) if args.store else os.environ[URL_ENV]
    else:
        serving = load_params_file(args.params)["serving"]
        url = store_url(serving["store_url"], serving["store_file"])
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise CommandError(f"no store at {url.removeprefix('sqlite:///')}: the service creates it on its first "
                           "start (or `emoheal store upgrade --store PATH` creates an empty one)")
    return open_store(url, migrate=migrate)


@contextlib.contextmanager
def _store_errors():
    """A store that cannot be reached or read (a server down, a file that is not a database): the
    driver's words, which name host and user but never a password; exit 1."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        raise CommandError(f"the store cannot be used: {getattr(exc, 'orig', None) or exc}") from None


def forget_command(args: argparse.Namespace) -> int:
    with _store_errors():
        return _forget(args)


def retention_command(args: argparse.Namespace) -> int:
    with _store_errors():
        return _retention(args)


def store_command(args: argparse.Namespace) -> int:
    with _store_errors():
        return _store(args)


def _forget(args: argparse.Namespace) -> int:
    from emoheal.store.people import People

    people = People(_engine(args))
    profile = people.find_local(args.user) if args.user is not None else people.resolve(args.token)
    if profile is None:  # the same words either way: a token is not confirmed or denied
        raise UsageError("no such profile in this store (nothing was erased)")
    print(json.dumps({"erased": people.erase(profile)}))
    return 0


def _retention(args: argparse.Namespace) -> int:
    from emoheal.store.retention import apply_retention

    days = args.days if args.days is not None else load_params_file(args.params)["serving"]["retention_days"]
    if days <= 0:
        raise UsageError(f"--days is a positive number of days, not {days}")
    print(json.dumps({"retention_days": days, "removed": apply_retention(_engine(args), days)}))
    return 0


def _store(args: argparse.Namespace) -> int:
    from emoheal.store.migrate import current, head

    if args.action == "upgrade":
        if args.store and "://" not in args.store:
            Path(args.store).parent.mkdir(parents=True, exist_ok=True)
            Path(args.store).touch()  # asked for by name: an empty store is what is wanted
        engine = _engine(args, migrate=True)
    else:
        engine = _engine(args, migrate=False)
    print(json.dumps({"revision": current(engine), "newest": head()}))
    return 0
