"""MQTT over TLS against a real Mosquitto with a TLS listener and a private CA made here:
trusting the CA, not trusting it, host-name verification, client certificates required,
user name and password inside TLS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.mqtt import BrokerTls, MosquittoBroker, MqttLink
from drivers.mqtt.connect import ClosedBeforeConnack, describe
from tests.conftest import free_port
from tests.drivers.mqtt.pki import Pair, TestCa
from tests.drivers.mqtt.test_link import Inbox, refusals, running, section, unique


@dataclass(frozen=True)
class Pki:
    ca: TestCa
    stranger: TestCa  # a CA the broker and the clients do not trust
    server: Pair  # from ca, for 127.0.0.1
    client: Pair  # from ca
    intruder: Pair  # from stranger


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder: Path = tmp_path_factory.mktemp("pki")
    ca, stranger = TestCa(folder / "ca"), TestCa(folder / "stranger", "stranger CA")
    return Pki(
        ca, stranger, ca.server(["127.0.0.1"]), ca.client("line-1"), stranger.client("intruder")
    )


def tls_broker(pki: Pki, **kw: object) -> MosquittoBroker:
    return MosquittoBroker(
        free_port(), allow_anonymous=True, tls=BrokerTls(pki.server.cert, pki.server.key), **kw
    )


def test_a_tls_listener_is_written_into_the_config(pki: Pki):
    with pytest.raises(ValueError, match="require_certificate: set cafile"):
        BrokerTls("s.crt", "s.key", require_certificate=True)
    tls = BrokerTls(pki.server.cert, pki.server.key, pki.ca.cert, require_certificate=True)
    port = free_port()
    with MosquittoBroker(port, allow_anonymous=True, tls=tls) as broker:
        assert broker.url == f"mqtts://127.0.0.1:{port}"
        config = (broker.directory / "mosquitto.conf").read_text().splitlines()
        at = config.index(f"listener {port} 127.0.0.1")
        assert config[at + 1 : at + 5] == [
            f"certfile {pki.server.cert}",
            f"keyfile {pki.server.key}",
            f"cafile {pki.ca.cert}",
            "require_certificate true",
        ]


async def test_mqtts_with_the_ca_connects_publishes_and_receives(pki: Pki):
    p = unique("tls")
    with tls_broker(pki) as broker:
        link = MqttLink("fleet", section(broker.url, ca_file=str(pki.ca.cert)), client_id="tls-1")
        inbox = Inbox()
        await link.subscribe(f"{p}/#", inbox, qos=1)
        async with running(link):
            await link.publish(f"{p}/a", b"over tls", qos=1)
            assert await inbox.wait(1) == [(f"{p}/a", b"over tls", False)]


@pytest.mark.parametrize("trust", ["stranger CA", "system CAs"])
async def test_a_client_that_does_not_trust_the_ca_is_refused_saying_so(pki: Pki, trust: str):
    ca_file = str(pki.stranger.cert) if trust == "stranger CA" else None
    with tls_broker(pki) as broker:
        [error] = await refusals(section(broker.url, ca_file=ca_file))
    assert error is not None
    assert error.address == broker.url
    assert (
        f"TLS with broker {broker.url} failed: certificate verification of the broker "
        "failed: unable to get local issuer certificate (ca_file must hold the CA" in error.detail
    )


async def test_the_host_name_of_the_url_must_be_in_the_certificates_subject_alt_name(pki: Pki):
    for_localhost = pki.ca.server(["localhost"], stem="localhost")
    tls = BrokerTls(for_localhost.cert, for_localhost.key)
    with MosquittoBroker(free_port(), allow_anonymous=True, tls=tls) as broker:
        ca_file = str(pki.ca.cert)
        by_name = broker.url.replace("127.0.0.1", "localhost")
        async with running(MqttLink("fleet", section(by_name, ca_file=ca_file), client_id="h1")):
            pass  # connected: localhost is in the certificate
        [error] = await refusals(section(broker.url, ca_file=ca_file))
    assert error is not None
    assert "certificate verification of the broker failed: IP address mismatch" in error.detail
    assert "'127.0.0.1'" in error.detail
    assert "(its subjectAltName must name the host of the url)" in error.detail


async def _delivers(link: MqttLink, topic: str) -> None:
    """``link`` connects, publishes on ``topic`` at QoS 1 and receives it back."""
    inbox = Inbox()
    await link.subscribe(topic, inbox, qos=1)
    async with running(link):
        await link.publish(topic, b"over tls", qos=1)
        await inbox.wait(1)


async def test_a_required_client_certificate_must_come_from_the_brokers_ca(pki: Pki):
    tls = BrokerTls(pki.server.cert, pki.server.key, pki.ca.cert, require_certificate=True)
    with MosquittoBroker(free_port(), allow_anonymous=True, tls=tls) as broker:
        ca_file = str(pki.ca.cert)
        own = section(
            broker.url,
            ca_file=ca_file,
            cert_file=str(pki.client.cert),
            key_file=str(pki.client.key),
        )
        await _delivers(MqttLink("fleet", own, client_id="mtls-1"), f"{unique('mtls')}/x")

        # the alert ("certificate required", "unknown ca") is lost when our CONNECT meets
        # the broker's close (the reset discards it): both wordings name the certificate
        [error] = await refusals(section(broker.url, ca_file=ca_file))
        assert error is not None
        assert f"TLS with broker {broker.url} failed: the broker " in error.detail
        assert "client certificate" in error.detail
        assert "cert_file and key_file" in error.detail
        intruder = section(
            broker.url,
            ca_file=ca_file,
            cert_file=str(pki.intruder.cert),
            key_file=str(pki.intruder.key),
        )
        [error] = await refusals(intruder)
        assert error is not None
        assert f"TLS with broker {broker.url} failed: the broker " in error.detail
        assert "client certificate" in error.detail
        assert "cert_file" in error.detail


@pytest.mark.parametrize(
    ("scheme", "detail", "wording"),
    [
        (
            "mqtts",
            "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required",
            "the broker requires a client certificate (set cert_file and key_file): [SSL",
        ),
        (
            "mqtts",
            "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:2580)",
            "the broker did not accept our client certificate (cert_file must be signed by a "
            "CA the broker trusts): [SSL: TLSV1_ALERT_UNKNOWN_CA]",
        ),
        (
            "mqtts",
            "EOF occurred in violation of protocol (_ssl.c:2427)",
            "the broker closed the connection right after the handshake (EOF occurred in "
            "violation of protocol (_ssl.c:2427)); a broker that requires a client certificate",
        ),
        ("mqtt", None, "closed the connection before accepting it: no reason given"),
    ],
)
def test_a_close_before_the_connack_is_worded_by_its_reason(
    scheme: str, detail: str | None, wording: str
):
    url = f"{scheme}://127.0.0.1:8883"
    error = describe("fleet", section(url), ClosedBeforeConnack(detail), connected=False)
    assert error.address == url
    assert f"broker {url} " in error.detail
    assert wording in error.detail


async def test_user_name_and_password_inside_tls(pki: Pki, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LANESORT_TEST_MQTT_PW", "right")
    tls = BrokerTls(pki.server.cert, pki.server.key)
    with MosquittoBroker(free_port(), users={"line-1": "right"}, tls=tls) as broker:
        ca_file = str(pki.ca.cert)
        login = section(
            broker.url, ca_file=ca_file, username="line-1", password_env="LANESORT_TEST_MQTT_PW"
        )
        await _delivers(MqttLink("fleet", login, client_id="pw-1"), f"{unique('pw')}/x")

        monkeypatch.setenv("LANESORT_TEST_MQTT_PW", "wrong")
        [error] = await refusals(login)
        assert error is not None
        assert f"broker {broker.url} refused the connection: not authorised" in error.detail
        [error] = await refusals(section(broker.url, ca_file=ca_file))
        assert error is not None
        assert "no username is configured, and the broker refuses anonymous" in error.detail
