import io
import sqlite3

import pytest

from controller.auth import user_cli
from controller.auth.tokens import Role
from controller.auth.users import UserStore
from controller.cli.command import main

PW = "correct horse"


@pytest.fixture
def data(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def run(data, monkeypatch, capsys):
    """Run ``lanesort user ...`` with ``stdin`` as standard input; (exit code, out, err)."""

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["user", *argv, "--data-dir", str(data)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_add_with_password_stdin_makes_a_user_who_can_log_in(run, data):
    code, _, err = run(
        "add", "--name", "ann", "--role", "supervisor", "--password-stdin", stdin=PW + "\n"
    )
    assert code == 0 and "user 'ann' (supervisor) added" in err
    info = UserStore(data / "users.sqlite").verify("ann", PW)
    assert info.role is Role.SUPERVISOR


def test_list_shows_users_and_roles_but_never_a_hash(run, data):
    run("add", "--name", "ann", "--role", "supervisor", "--password-stdin", stdin=PW + "\n")
    run("add", "--name", "bob", "--role", "viewer", "--password-stdin", stdin=PW + "\r\n")
    code, out, _ = run("list")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines] == [["ann", "supervisor"], ["bob", "viewer"]]
    assert all(line.endswith("active") for line in lines)
    with sqlite3.connect(data / "users.sqlite") as conn:
        secrets = [v for row in conn.execute("SELECT hash, salt FROM users") for v in row]
    assert len(secrets) == 4
    assert not any(s in out or s[:16] in out for s in secrets)
    assert PW not in out and "scrypt" not in out
    assert UserStore(data / "users.sqlite").verify("bob", PW).name == "bob"  # \r\n stripped


def test_list_of_no_users_says_how_to_add_one(run):
    code, out, err = run("list")
    assert code == 0 and out == "" and "lanesort user add" in err


def test_passwd_role_disable_enable_and_remove(run, data):
    run("add", "--name", "ann", "--role", "viewer", "--password-stdin", stdin=PW + "\n")
    code, _, err = run("passwd", "ann", "--password-stdin", stdin="new password\n")
    assert code == 0 and "password of 'ann' changed" in err
    store = UserStore(data / "users.sqlite")
    assert store.verify("ann", "new password").name == "ann"
    code, _, err = run("role", "ann", "--role", "supervisor")
    assert code == 0 and "now supervisor" in err
    assert store.verify("ann", "new password").role is Role.SUPERVISOR
    assert run("disable", "ann")[0] == 0
    assert run("list")[1].split()[-1] == "disabled"
    assert run("enable", "ann")[0] == 0
    assert run("list")[1].split()[-1] == "active"
    code, _, err = run("remove", "ann")
    assert code == 0 and "user 'ann' (supervisor) removed" in err
    assert store.list() == []


@pytest.mark.parametrize(
    ("argv", "stdin", "why"),
    [
        (("add", "--name", "erp", "--role", "tms", "--password-stdin"), PW, "for API tokens"),
        (
            ("add", "--name", "ann", "--role", "viewer", "--password-stdin"),
            "short\n",
            "password too short: at least 8 characters",
        ),
        (
            ("add", "--name", "ann", "--role", "viewer", "--password-stdin"),
            "",
            "no password on standard input",
        ),
        (("remove", "nobody"), "", "no user named 'nobody'"),
        (("passwd", "nobody", "--password-stdin"), PW, "no user named 'nobody'"),
        (("role", "nobody", "--role", "viewer"), "", "no user named 'nobody'"),
    ],
)
def test_errors_print_one_clear_line_and_exit_1(run, argv, stdin, why):
    code, out, err = run(*argv, stdin=stdin)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("lanesort: ") and why in err


def test_a_taken_name_is_refused(run):
    run("add", "--name", "ann", "--role", "viewer", "--password-stdin", stdin=PW + "\n")
    code, _, err = run(
        "add", "--name", "ann", "--role", "viewer", "--password-stdin", stdin=PW + "\n"
    )
    assert code == 1 and "a user named 'ann' exists already" in err


def test_without_password_stdin_the_password_is_asked_twice(run, data, monkeypatch):
    answers = iter([PW, PW])
    prompts: list[str] = []
    monkeypatch.setattr(user_cli.getpass, "getpass", lambda p: prompts.append(p) or next(answers))
    assert run("add", "--name", "ann", "--role", "viewer")[0] == 0
    assert prompts == ["new password for ann: ", "new password for ann (again): "]
    assert UserStore(data / "users.sqlite").verify("ann", PW).name == "ann"


def test_two_different_typed_passwords_change_nothing(run, data, monkeypatch):
    answers = iter([PW, PW + "x"])
    monkeypatch.setattr(user_cli.getpass, "getpass", lambda p: next(answers))
    code, _, err = run("add", "--name", "ann", "--role", "viewer")
    assert code == 1 and "the two passwords differ" in err
    assert UserStore(data / "users.sqlite").list() == []


def test_the_config_decides_where_the_users_live(tmp_path, monkeypatch, capsys):
    from controller.cli.command import demo_config_path

    config = tmp_path / "line.yaml"
    text = demo_config_path().read_text()
    config.write_text(text + "\nhmi:\n  users_path: people/hmi-users.sqlite\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(PW + "\n"))
    argv = ["user", "add", "--name", "ann", "--role", "viewer", "--password-stdin"]
    code = main([*argv, "--config", str(config), "--data-dir", str(tmp_path / "d")])
    assert code == 0, capsys.readouterr().err
    assert UserStore(tmp_path / "d" / "people" / "hmi-users.sqlite").list()[0].name == "ann"
