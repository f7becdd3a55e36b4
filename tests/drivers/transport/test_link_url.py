"""Link URLs: which transport, which serial settings; bad parameters say what is allowed."""

from __future__ import annotations

import pytest

from drivers.transport.url import parse_link_url


def test_tcp_is_raw_asyncio_streams():
    t = parse_link_url("tcp://10.0.0.7:4001")
    assert (t.kind, t.host, t.port) == ("tcp", "10.0.0.7", 4001)


@pytest.mark.parametrize("scheme", ["socket", "rfc2217"])
def test_device_servers_go_through_pyserial(scheme):
    t = parse_link_url(f"{scheme}://moxa.local:4001?baud=19200&parity=O")
    assert t.kind == "serial"
    assert t.url == f"{scheme}://moxa.local:4001"
    assert (t.baudrate, t.parity, t.bytesize, t.stopbits) == (19200, "O", 8, 1)


def test_device_path_with_settings():
    t = parse_link_url("/dev/ttyUSB0?baud=9600&parity=E&bytesize=7&stopbits=1")
    assert (t.kind, t.url) == ("serial", "/dev/ttyUSB0")
    assert (t.baudrate, t.parity, t.bytesize, t.stopbits) == (9600, "E", 7, 1)


def test_defaults_are_9600_8n1():
    t = parse_link_url("/dev/serial/by-id/usb-FTDI-if00-port0")
    assert (t.baudrate, t.parity, t.bytesize, t.stopbits) == (9600, "N", 8, 1)
    assert parse_link_url("loop://").url == "loop://"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/dev/ttyS0?baud=fast", ["baud", "9600"]),
        ("/dev/ttyS0?baud=0", ["baud"]),
        ("/dev/ttyS0?parity=X", ["parity", "N, E, O"]),
        ("/dev/ttyS0?bytesize=6", ["bytesize", "7 or 8"]),
        ("/dev/ttyS0?stopbits=3", ["stopbits", "1 or 2"]),
        ("/dev/ttyS0?speed=9600", ["speed", "allowed"]),
        ("/dev/ttyS0?baud=9600&baud=4800", ["baud", "twice"]),
        ("tcp://host", ["HOST:PORT"]),
        ("tcp://host:1?baud=9600", ["no parameters"]),
        ("tcp://host:99999", ["port"]),
        ("ttyUSB0", ["tcp://HOST:PORT"]),
        ("http://host:80", ["unsupported"]),
    ],
)
def test_bad_urls_name_what_is_wrong(url, words):
    with pytest.raises(ValueError) as info:
        parse_link_url(url)
    for word in words:
        assert word in str(info.value)
