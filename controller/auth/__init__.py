"""Who may do what: API bearer tokens, HMI users and logins, and the audit log.

Owns the token store (:mod:`~controller.auth.tokens`, ``tokens.sqlite``), the HMI user
accounts (:mod:`~controller.auth.users`, ``users.sqlite``, scrypt hashes), their CLIs
(``lanesort token``: :mod:`~controller.auth.token_cli`; ``lanesort user``:
:mod:`~controller.auth.user_cli`) and the audit log of every operator action
(:mod:`~controller.auth.audit`, in the journal file).

May use: :mod:`controller.journal` (the audit rows). The API, the HMI and the OPC UA
server check their callers here.
"""

from controller.auth.audit import CONSOLE, Actor, AuditLog
from controller.auth.tokens import Role, TokenInfo, TokenStore, in_data_dir, tokens_path
from controller.auth.users import UserStore, users_path

__all__ = [
    "CONSOLE",
    "Actor",
    "AuditLog",
    "Role",
    "TokenInfo",
    "TokenStore",
    "UserStore",
    "in_data_dir",
    "tokens_path",
    "users_path",
]
