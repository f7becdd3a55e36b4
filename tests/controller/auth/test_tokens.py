import pytest

from controller.auth.tokens import Role, TokenStore
from controller.errors import TokenError


def test_a_created_token_authenticates_with_its_role_and_is_stored_hashed(tmp_path):
    store = TokenStore(tmp_path / "tokens.sqlite")
    token = store.create("erp", "tms")
    info = store.authenticate(token)
    assert info is not None and info.name == "erp" and info.role is Role.TMS
    secret = token.split("_", 2)[2]
    assert secret.encode() not in (tmp_path / "tokens.sqlite").read_bytes()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "lst_00000000_" + t.split("_", 2)[2],  # unknown id
        lambda t: "Bearer " + t,  # malformed
        lambda t: "",
    ],
)
def test_wrong_tokens_do_not_authenticate(tmp_path, mangle):
    store = TokenStore(tmp_path / "tokens.sqlite")
    token = store.create("erp", Role.VIEWER)
    assert store.authenticate(mangle(token)) is None


def test_a_revoked_token_stops_working_and_its_name_can_be_reused(tmp_path):
    store = TokenStore(tmp_path / "tokens.sqlite", cache_s=0)
    token = store.create("erp", "tms")
    assert store.authenticate(token) is not None
    assert store.revoke("erp").revoked is not None
    assert store.authenticate(token) is None
    again = store.create("erp", "supervisor")
    assert store.authenticate(again).role is Role.SUPERVISOR
    assert [t.revoked is None for t in store.list()] == [False, True]


def test_the_cache_keeps_a_revoked_token_only_for_cache_s(tmp_path):
    store = TokenStore(tmp_path / "tokens.sqlite", cache_s=5)
    token = store.create("erp", "tms")
    assert store.authenticate(token, now=100.0) is not None
    other = TokenStore(tmp_path / "tokens.sqlite")
    other.revoke("erp")
    assert store.authenticate(token, now=104.0) is not None  # cached
    assert store.authenticate(token, now=105.5) is None


@pytest.mark.parametrize(
    ("name", "role", "why"),
    [
        ("erp", "boss", "unknown role"),
        ("", "tms", "token name"),
        ("has space", "tms", "token name"),
    ],
)
def test_bad_token_requests_say_why(tmp_path, name, role, why):
    with pytest.raises(TokenError, match=why):
        TokenStore(tmp_path / "t.sqlite").create(name, role)


def test_two_active_tokens_cannot_share_a_name(tmp_path):
    store = TokenStore(tmp_path / "t.sqlite")
    store.create("erp", "tms")
    with pytest.raises(TokenError, match="exists already"):
        store.create("erp", "viewer")


def test_revoking_an_unknown_token_says_so(tmp_path):
    with pytest.raises(TokenError, match="no active token named 'nope'"):
        TokenStore(tmp_path / "t.sqlite").revoke("nope")


def test_the_cli_prints_a_new_token_once_and_lists_tokens_without_secrets(tmp_path, capsys):
    from controller.cli.command import main

    data = str(tmp_path / "data")
    assert main(["token", "create", "--data-dir", data, "--name", "erp", "--role", "tms"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("lst_") and "shown only now" in err
    assert main(["token", "list", "--data-dir", data]) == 0
    listing, _ = capsys.readouterr()
    assert "erp" in listing and "tms" in listing and token.split("_", 2)[2] not in listing
    assert main(["token", "revoke", "erp", "--data-dir", data]) == 0
    assert main(["token", "revoke", "erp", "--data-dir", data]) == 1
    assert "no active token named 'erp'" in capsys.readouterr().err
