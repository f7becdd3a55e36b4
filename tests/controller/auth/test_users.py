import os
import stat
import threading
import time

import pytest

from controller.auth import users
from controller.auth.tokens import Role
from controller.auth.users import UserInfo, UserStore, users_path
from controller.errors import ControllerError, LoginRefused, UserError

PW = "correct horse"


@pytest.fixture
def store(tmp_path):
    s = UserStore(tmp_path / "users.sqlite", max_attempts=3, lockout_s=60.0)
    s.add("ann", "supervisor", PW)
    return s


def test_a_user_logs_in_with_the_right_password_and_the_password_is_not_stored(store, tmp_path):
    info = store.verify("ann", PW)
    assert info.name == "ann" and info.role is Role.SUPERVISOR and info.disabled is None
    raw = (tmp_path / "users.sqlite").read_bytes()
    assert PW.encode() not in raw and b"correct" not in raw
    assert b"scrypt:16384:8:1" in raw  # the parameters are kept with the hash
    assert stat.S_IMODE(os.stat(tmp_path / "users.sqlite").st_mode) == 0o600


def test_the_same_password_gets_a_different_salt_and_hash(tmp_path):
    import sqlite3

    store = UserStore(tmp_path / "u.sqlite")
    store.add("ann", "viewer", PW)
    store.add("bob", "viewer", PW)
    with sqlite3.connect(tmp_path / "u.sqlite") as conn:
        rows = conn.execute("SELECT hash, salt FROM users").fetchall()
    assert len(rows) == 2 and rows[0][0] != rows[1][0] and rows[0][1] != rows[1][1]
    assert len(bytes.fromhex(rows[0][1])) == 16


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(store):
    with pytest.raises(LoginRefused) as wrong:
        store.verify("ann", "correct horsE")
    with pytest.raises(LoginRefused) as unknown:
        store.verify("nobody", PW)
    assert str(wrong.value) == str(unknown.value) == "wrong user name or password"


def test_an_unknown_user_costs_a_hash_like_a_known_one(store):
    def timed(name):
        started = time.perf_counter()
        with pytest.raises(LoginRefused):
            store.verify(name, "not the password")
        return time.perf_counter() - started

    known = min(timed("ann") for _ in range(2))
    unknown = min(timed("nobody") for _ in range(2))
    assert unknown > known / 3


def test_login_refused_is_a_user_error_and_a_controller_error():
    assert issubclass(LoginRefused, UserError) and issubclass(UserError, ControllerError)


def test_a_name_is_locked_after_max_attempts_wrong_passwords_then_released(store):
    for t in (0.0, 1.0):
        with pytest.raises(LoginRefused, match="wrong user name or password"):
            store.verify("ann", "nope nope", now=t)
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        store.verify("ann", "nope nope", now=2.0)  # the third: locks
    with pytest.raises(LoginRefused, match=r"too many wrong passwords; try again in 60 s"):
        store.verify("ann", PW, now=2.0)  # right password, still refused
    with pytest.raises(LoginRefused, match=r"try again in 11 s"):
        store.verify("ann", PW, now=51.5)
    assert store.verify("ann", PW, now=62.0).name == "ann"


def test_a_success_resets_the_count_of_wrong_passwords(store):
    for t in (0.0, 1.0):
        with pytest.raises(LoginRefused):
            store.verify("ann", "nope nope", now=t)
    store.verify("ann", PW, now=2.0)
    for t in (3.0, 4.0):
        with pytest.raises(LoginRefused, match="wrong user"):
            store.verify("ann", "nope nope", now=t)
    assert store.verify("ann", PW, now=5.0).name == "ann"


def test_an_unknown_name_is_locked_like_a_known_one(store):
    for t in (0.0, 1.0, 2.0):
        with pytest.raises(LoginRefused, match="wrong user"):
            store.verify("nobody", "nope nope", now=t)
    with pytest.raises(LoginRefused, match="too many wrong passwords"):
        store.verify("nobody", "nope nope", now=3.0)
    assert store.verify("ann", PW, now=3.0).name == "ann"  # other names are not affected


def test_a_new_password_ends_a_lockout(store):
    for t in (0.0, 1.0, 2.0):
        with pytest.raises(LoginRefused):
            store.verify("ann", "nope nope", now=t)
    store.set_password("ann", "a new password")
    assert store.verify("ann", "a new password", now=3.0).name == "ann"
    with pytest.raises(LoginRefused, match="wrong user"):
        store.verify("ann", PW, now=4.0)


def test_a_disabled_user_is_refused_only_once_the_password_is_right(store):
    assert store.set_disabled("ann", True).disabled is not None
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        store.verify("ann", "nope nope")
    with pytest.raises(LoginRefused, match="user 'ann' is disabled"):
        store.verify("ann", PW)
    assert not store.has_users()
    store.set_disabled("ann", False)
    assert store.verify("ann", PW).name == "ann" and store.has_users()


@pytest.mark.parametrize(
    ("role", "why"),
    [
        ("tms", "role 'tms' is for API tokens, not HMI users; expected supervisor or viewer"),
        (Role.TMS, "is for API tokens"),
        ("boss", "unknown role 'boss'; expected supervisor or viewer"),
    ],
)
def test_only_supervisor_and_viewer_roles_are_allowed(tmp_path, role, why):
    store = UserStore(tmp_path / "u.sqlite")
    with pytest.raises(UserError, match=why):
        store.add("erp", role, PW)
    store.add("ann", "viewer", PW)
    with pytest.raises(UserError, match=why):
        store.set_role("ann", role)
    assert [u.role for u in store.list()] == [Role.VIEWER]


@pytest.mark.parametrize(
    ("name", "password", "why"),
    [
        ("ann", "short7!", "password too short: at least 8 characters, got 7"),
        ("ann", "x" * 1025, "password too long"),
        ("", PW, "user name ''"),
        ("has space", PW, "user name 'has space'"),
    ],
)
def test_bad_names_and_passwords_are_refused_with_why(tmp_path, name, password, why):
    store = UserStore(tmp_path / "u.sqlite")
    with pytest.raises(UserError, match=why):
        store.add(name, "viewer", password)
    assert store.list() == []


def test_a_short_new_password_is_refused_and_the_old_one_kept(store):
    with pytest.raises(UserError, match="password too short"):
        store.set_password("ann", "1234567")
    assert store.verify("ann", PW).name == "ann"


def test_names_are_unique(store):
    with pytest.raises(UserError, match="a user named 'ann' exists already"):
        store.add("ann", "viewer", PW)


def test_role_password_and_remove_change_the_stored_user(store):
    assert store.set_role("ann", Role.VIEWER).role is Role.VIEWER
    assert store.verify("ann", PW).role is Role.VIEWER
    store.set_password("ann", "another one")
    with pytest.raises(LoginRefused):
        store.verify("ann", PW)
    assert store.verify("ann", "another one").name == "ann"
    assert store.remove("ann").name == "ann"
    assert store.list() == [] and not store.has_users()
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        store.verify("ann", "another one")


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.remove("bob"),
        lambda s: s.set_role("bob", "viewer"),
        lambda s: s.set_password("bob", PW),
        lambda s: s.set_disabled("bob", True),
    ],
)
def test_changing_an_unknown_user_says_so(store, change):
    with pytest.raises(UserError, match="no user named 'bob'"):
        change(store)


def test_list_shows_no_hash_and_is_sorted_by_name(store):
    store.add("bob", "viewer", PW)
    listed = store.list()
    assert [(u.name, u.role) for u in listed] == [("ann", Role.SUPERVISOR), ("bob", Role.VIEWER)]
    assert all(type(u) is UserInfo and not hasattr(u, "hash") for u in listed)


def test_the_same_password_in_another_unicode_form_logs_in(tmp_path):
    store = UserStore(tmp_path / "u.sqlite")
    store.add("ann", "viewer", "caf\u00e9-caf\u00e9")  # é as one code point
    assert store.verify("ann", "cafe\u0301-cafe\u0301").name == "ann"  # e + combining accent


def test_an_old_hash_is_upgraded_to_raised_parameters_at_login(store, tmp_path, monkeypatch):
    monkeypatch.setattr(users, "SCRYPT_N", 2**15)
    assert store.verify("ann", PW).name == "ann"
    raw = (tmp_path / "users.sqlite").read_bytes()
    assert b"scrypt:32768:8:1" in raw and b"scrypt:16384:8:1" not in raw
    assert store.verify("ann", PW).name == "ann"
    monkeypatch.setattr(users, "SCRYPT_N", 2**14)
    assert store.verify("ann", PW).name == "ann"  # a hash made with other params still checks


def test_concurrent_logins_from_threads_all_succeed(store):
    results: list[str] = []

    def login():
        results.append(store.verify("ann", PW).name)

    threads = [threading.Thread(target=login) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["ann"] * 4


def test_users_path_is_relative_to_the_data_dir(tmp_path):
    assert users_path(tmp_path, "users.sqlite") == tmp_path / "users.sqlite"
    assert users_path(tmp_path, "/etc/lanesort/u.sqlite").as_posix() == "/etc/lanesort/u.sqlite"


def test_an_unopenable_store_raises_user_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="cannot open the user store"):
        UserStore(tmp_path / "file" / "users.sqlite").list()
