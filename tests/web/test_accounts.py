"""Accounts and sessions on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from kruispunt.identity import InvalidNumber, NumberGenerator, UnknownMunicipality
from kruispunt.web import (
    AccountError,
    NewAccount,
    Role,
    add_account,
    list_accounts,
    set_disabled,
    set_password,
)
from kruispunt.web.accounts import (
    MAX_FAILED_ATTEMPTS,
    SignInRefused,
    authenticate,
    end_session,
    find_session,
    start_session,
)
from kruispunt.web.tables import web_account
from tests.web.seed import PASSWORD, seed_register


@pytest.fixture
def citizen_insz(engine: Engine, tmp_path: Path) -> str:
    return seed_register(engine, tmp_path).citizen_insz


def test_citizen_account_is_tied_to_a_person_in_the_register(engine: Engine, citizen_insz: str) -> None:
    account = add_account(engine, NewAccount("jan", Role.CITIZEN, PASSWORD, insz=citizen_insz))
    assert account.insz == citizen_insz
    assert account.display_name == "Jan Peeters"
    with pytest.raises(AccountError, match="needs the citizen's INSZ"):
        add_account(engine, NewAccount("nobody", Role.CITIZEN, PASSWORD))
    unknown = NumberGenerator(99).insz().number
    with pytest.raises(AccountError, match="not in the register"):
        add_account(engine, NewAccount("ghost", Role.CITIZEN, PASSWORD, insz=unknown))
    with pytest.raises(InvalidNumber):
        add_account(engine, NewAccount("typo", Role.CITIZEN, PASSWORD, insz="12345678901"))


def test_officers_work_for_a_known_municipality(engine: Engine) -> None:
    account = add_account(engine, NewAccount("officer", Role.OFFICER, PASSWORD, municipality_nis="61031"))
    assert account.municipality_nis == "61031"
    with pytest.raises(AccountError, match="municipality"):
        add_account(engine, NewAccount("ocmw", Role.OCMW, PASSWORD))
    with pytest.raises(UnknownMunicipality):
        add_account(engine, NewAccount("ocmw", Role.OCMW, PASSWORD, municipality_nis="99999"))


def test_names_and_passwords_are_checked(engine: Engine) -> None:
    add_account(engine, NewAccount("admin", Role.ADMIN, PASSWORD))
    with pytest.raises(AccountError, match="exists already"):
        add_account(engine, NewAccount("admin", Role.ADMIN, PASSWORD))
    with pytest.raises(AccountError, match="at least 12"):
        add_account(engine, NewAccount("short", Role.ADMIN, "short"))
    with pytest.raises(AccountError, match="user name"):
        add_account(engine, NewAccount("Bad Name", Role.ADMIN, PASSWORD))
    assert [a.username for a in list_accounts(engine)] == ["admin"]


def test_sign_in_and_sessions(engine: Engine) -> None:
    account = add_account(engine, NewAccount("researcher", Role.RESEARCHER, PASSWORD))
    assert authenticate(engine, "researcher", PASSWORD).id == account.id
    with pytest.raises(SignInRefused):
        authenticate(engine, "researcher", PASSWORD + "x")
    with pytest.raises(SignInRefused):
        authenticate(engine, "nobody", PASSWORD)
    token = start_session(engine, account)
    session = find_session(engine, token)
    assert session is not None and session.account.username == "researcher"
    assert find_session(engine, token + "x") is None
    end_session(engine, token)
    assert find_session(engine, token) is None


def test_repeated_failures_lock_the_account(engine: Engine) -> None:
    add_account(engine, NewAccount("admin", Role.ADMIN, PASSWORD))
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused):
            authenticate(engine, "admin", "wrong-password!")
    with pytest.raises(SignInRefused):
        authenticate(engine, "admin", PASSWORD)
    set_password(engine, "admin", "a-brand-new-password")
    assert authenticate(engine, "admin", "a-brand-new-password").username == "admin"


def test_disabling_ends_sessions(engine: Engine) -> None:
    account = add_account(engine, NewAccount("admin", Role.ADMIN, PASSWORD))
    token = start_session(engine, account)
    set_disabled(engine, "admin", True)
    assert find_session(engine, token) is None
    with pytest.raises(SignInRefused):
        authenticate(engine, "admin", PASSWORD)
    set_disabled(engine, "admin", False)
    assert authenticate(engine, "admin", PASSWORD).username == "admin"


def test_a_disabled_account_in_a_live_session_is_refused(engine: Engine) -> None:
    account = add_account(engine, NewAccount("admin", Role.ADMIN, PASSWORD))
    token = start_session(engine, account)
    with engine.begin() as conn:
        conn.execute(update(web_account).values(disabled=True))
    assert find_session(engine, token) is None
