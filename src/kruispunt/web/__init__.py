"""Web room: the pages municipalities, OCMWs, institutions, researchers and citizens work in.

A thin shell over the other rooms' service APIs; it holds no logic of its own besides its local accounts
(a simulated sign-in) and sessions.

Public API: :func:`create_router` (include it in the hub's FastAPI app), accounts: :class:`Role`,
:class:`NewAccount`, :class:`Account`, :class:`AccountError`, :func:`add_account`, :func:`list_accounts`,
:func:`get_account`, :func:`set_password`, :func:`set_disabled`, :func:`generate_password`.
"""

from kruispunt.web.accounts import (
    Account,
    AccountError,
    NewAccount,
    Role,
    add_account,
    get_account,
    list_accounts,
    set_disabled,
    set_password,
)
from kruispunt.web.passwords import generate_password
from kruispunt.web.router import create_router

__all__ = [
    "Account",
    "AccountError",
    "NewAccount",
    "Role",
    "add_account",
    "create_router",
    "generate_password",
    "get_account",
    "list_accounts",
    "set_disabled",
    "set_password",
]
