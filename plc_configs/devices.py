"""Device sections of the line config: each device's driver, address and timing."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from plc_configs.base import Strict as _Strict
from plc_configs.telegram import PRESETS, TelegramFormat


def _check_url(url: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ValueError(f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}")
    if not parts.hostname or parts.port is None:
        raise ValueError("expected host and port, as in tcp://127.0.0.1:15023")
    return url


class _Device(_Strict):
    """What every device has: how its supervisor reconnects."""

    reconnect_min_ms: int = Field(200, gt=0, description="first wait before reconnecting")
    reconnect_max_ms: int = Field(5000, gt=0, description="longest wait (doubling, jittered)")


class SorterPlcDevice(_Device):
    """The sorter PLC: the controller is the client (Modbus TCP or OPC UA), the PLC the server."""

    kind: Literal["sorter_plc"]
    driver: Literal["modbus-tcp", "opcua"] = Field(
        "modbus-tcp", description="modbus-tcp (register_map) or opcua (node_map)"
    )
    url: str = Field(description="modbus-tcp://HOST:PORT or opc.tcp://HOST:PORT[/path]")
    timeout_ms: int = Field(500, gt=0, le=60000, description="per request")
    poll_interval_ms: float = Field(
        1.0,
        ge=0,
        le=1000,
        description="pause between two cycles of the handshake (0: none; a pause is at least "
        "1 ms, as the event loop's timers count whole milliseconds)",
    )
    heartbeat_interval_ms: int = Field(1000, gt=0, description="how often our life counter ticks")
    heartbeat_timeout_ms: int = Field(
        3000, gt=0, description="the PLC's life counter unchanged this long = link lost"
    )
    publishing_interval_ms: float = Field(
        2.0,
        ge=0,
        le=1000,
        description="opcua: subscription publishing interval (the PLC may revise it)",
    )
    security_mode: Literal["None", "Sign", "SignAndEncrypt"] = Field(
        "SignAndEncrypt",
        description="opcua: Basic256Sha256 Sign or SignAndEncrypt; None only when the PLC "
        "offers nothing else (logged as a warning)",
    )
    pki_dir: str = Field(
        "opcua-pki-plc",
        description="opcua: our client certificate (made on first start) and trusted "
        "certificates, relative to line.data_dir",
    )
    server_certificate: str | None = Field(
        None,
        description="opcua: the PLC's certificate file (relative to line.data_dir) to pin; "
        "unset = accept the one its endpoint presents (its thumbprint is logged)",
    )
    username: str | None = Field(None, description="opcua: user name (unset = anonymous)")
    password_env: str | None = Field(
        None, description="opcua: environment variable holding the user's password"
    )

    @model_validator(mode="after")
    def _url(self) -> SorterPlcDevice:
        scheme = "opc.tcp" if self.driver == "opcua" else "modbus-tcp"
        try:
            _check_url(self.url, (scheme,))
        except ValueError as err:
            raise ValueError(f"url: {err} for driver {self.driver}") from None
        if self.password_env and not self.username:
            raise ValueError("password_env: set username too")
        return self


class BarcodeReaderDevice(_Device):
    """A barcode reader (TCP presets or OPC UA AutoID): fixed at the scan point, or a
    fixed or hand-held scanner at a put wall or a dock door (usually in push mode)."""

    kind: Literal["barcode_reader"]
    at: Literal["tunnel", "putwall", "dock"] = Field(
        "tunnel",
        description="where it is: the scan tunnel (triggered per parcel), a put wall or a "
        "dock door (hand-held or fixed scanners/scales used there: see putwall and loading)",
    )
    driver: Literal["cognex", "sick", "keyence", "datalogic", "autoid"] = Field(
        "cognex", description="reader preset; autoid = OPC UA AutoID (OPC 30010)"
    )
    url: str = Field(
        description="tcp://HOST:PORT of the reader; with push: tcp://BIND:PORT we listen "
        "on; opc.tcp://HOST:PORT/path for autoid"
    )
    timeout_ms: int = Field(80, gt=0, le=60000, description="trigger to result")
    no_read: str | None = Field(
        None, min_length=1, description="the reader's no-read string (preset default if unset)"
    )
    multiple_read: str | None = Field(
        None, description="the reader's multiple-read string (Datalogic), if configured"
    )
    separator: str | None = Field(
        None, min_length=1, description="between symbols in one result (preset default)"
    )
    push: bool = Field(
        False, description="the reader connects to us and pushes results (Cognex push mode)"
    )
    response: Literal["silent", "extended"] = Field(
        "silent",
        description="cognex: the DataMan's DMCC response mode (SET COM.DMCC-RESPONSE): "
        "silent (0, the factory default: the read string alone, no header; one trigger at "
        "a time) or extended (1: ||:id[status] headers; several triggers in flight, error "
        "statuses reported)",
    )
    node: str | None = Field(None, description="autoid: node id or browse path of the reader")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith("opc.tcp://"):
            return v
        return _check_url(v, ("tcp",))

    @model_validator(mode="after")
    def _response(self) -> BarcodeReaderDevice:
        if self.response == "extended" and (self.driver != "cognex" or self.push):
            raise ValueError(
                "response: extended is a DMCC response mode: only for the cognex driver "
                "when we trigger it (not push)"
            )
        return self


SERIAL_SCHEMES = ("tcp", "socket", "rfc2217")
SERIAL_URL_HELP = (
    "tcp://HOST:PORT (raw TCP), socket://HOST:PORT or rfc2217://HOST:PORT (serial device "
    "server), or a serial port path such as /dev/ttyUSB0?baud=9600&parity=E&bytesize=7"
    "&stopbits=1"
)


def check_serial_url(url: str) -> str:
    """A serial-or-TCP device address (see ``SERIAL_URL_HELP``)."""
    if url.startswith("/"):
        return url
    parts = urlsplit(url)
    if parts.scheme == "loop":
        return url
    if parts.scheme not in SERIAL_SCHEMES or not parts.hostname or parts.port is None:
        raise ValueError(f"expected {SERIAL_URL_HELP}")
    return url


class CameraDevice(_Device):
    """A camera at the scan point: frames through OpenCV, symbols by a decoder back-end."""

    kind: Literal["camera"]
    driver: Literal["zxing", "pyzbar"] = Field(
        "zxing", description="decoder back-end: zxing (zxing-cpp, default) or pyzbar (zbar)"
    )
    url: str = Field(
        description="http://… snapshot URL, an MJPEG/RTSP stream URL (http://…/stream.mjpg, "
        "rtsp://…), file:///path (an image or a folder of images) or device:0 (a camera index)"
    )
    timeout_ms: int = Field(80, gt=0, le=60000, description="grab plus decode")
    stream: bool = Field(False, description="the URL is a stream (MJPEG/RTSP), not snapshots")
    deskew: bool = Field(True, description="locate and rotate labels the decoder alone misses")
    keep_images: Literal["none", "no_read", "all"] = Field(
        "all",
        description="which frames are kept as JPEG with the parcel, for supervisors to see: "
        "all (default: any parcel's label can be looked at), no_read (only frames with no "
        "symbol) or none; kept images are pruned by the line's images section",
    )


class ScaleDevice(_Device):
    """A weigh scale: in the scan tunnel, or a check scale at a put wall or a dock door."""

    kind: Literal["scale"]
    at: Literal["tunnel", "putwall", "dock"] = Field(
        "tunnel",
        description="where it is: the scan tunnel (triggered per parcel), a put wall or a "
        "dock door (hand-held or fixed scanners/scales used there: see putwall and loading)",
    )
    driver: Literal["mt-sics", "sma", "nci", "toledo-continuous", "opcua-weighing"]
    url: str = Field(description=SERIAL_URL_HELP + "; opc.tcp://HOST:PORT for opcua-weighing")
    timeout_ms: int = Field(300, gt=0, le=60000, description="one request to its answer")
    node: str | None = Field(
        None, description="opcua-weighing: node id or browse path of the scale object"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith("opc.tcp://"):
            return v
        return check_serial_url(v)


class DimensionerDevice(_Device):
    """A dimensioner in the scan tunnel."""

    kind: Literal["dimensioner"]
    driver: Literal["cubiscan", "sick", "datalogic", "telegram"]
    url: str = Field(description=SERIAL_URL_HELP)
    timeout_ms: int = Field(500, gt=0, le=60000, description="trigger to telegram")
    telegram: TelegramFormat | None = Field(
        None, description="the host telegram (driver telegram); replaces a preset's format"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_serial_url(v)

    @model_validator(mode="after")
    def _telegram(self) -> DimensionerDevice:
        if self.driver == "telegram" and self.telegram is None:
            raise ValueError("driver telegram needs a telegram: section (fields, separator …)")
        return self

    def telegram_format(self) -> TelegramFormat | None:
        """The telegram format: the configured one, else the preset of the driver."""
        return self.telegram or PRESETS.get(self.driver)


def parse_nodes(spec: str | list[int]) -> list[int]:
    """``"1-24,30"`` or ``[1, 2, 3]`` -> sorted node numbers (ValueError naming the bad part)."""
    if isinstance(spec, list):
        nodes = list(spec)
    else:
        nodes = []
        for part in spec.replace(" ", "").split(","):
            first, _, last = part.partition("-")
            if not first.isdigit() or (last and not last.isdigit()):
                raise ValueError(f"expected node numbers such as 1-24,30, got {part!r}")
            nodes.extend(range(int(first), int(last or first) + 1))
    if len(set(nodes)) != len(nodes):
        raise ValueError("a node is listed twice")
    return sorted(nodes)


class PickToLightDevice(_Device):
    """A pick-to-light bus: an Atop ABLEPick controller port over TCP, or Banner PICK-IQ
    lights over Modbus RTU (a serial port or an RTU-over-TCP gateway)."""

    kind: Literal["pick_to_light"]
    driver: Literal["atop", "banner-rtu"]
    url: str = Field(
        description="atop: tcp://HOST:PORT of the controller; banner-rtu: " + SERIAL_URL_HELP
    )
    nodes: str | list[int] = Field(
        description="the modules on this bus: Atop node addresses (1-250) or Banner Modbus "
        "device ids (1-247), e.g. '1-24'"
    )
    port: Literal[1, 2] = Field(1, description="atop: controller port (message type 0x60/0x61)")
    timeout_ms: int = Field(300, gt=0, le=60000, description="one command to its answer")
    poll_interval_ms: int = Field(
        100,
        gt=0,
        le=60000,
        description="banner-rtu: how often each light's touch input is read; atop: how "
        "often the controller's device status is asked",
    )

    @model_validator(mode="after")
    def _check(self) -> PickToLightDevice:
        try:
            nodes = parse_nodes(self.nodes)
        except ValueError as err:
            raise ValueError(f"nodes: {err}") from None
        top = 250 if self.driver == "atop" else 247
        if not nodes or nodes[0] < 1 or nodes[-1] > top:
            raise ValueError(f"nodes: expected numbers from 1 to {top} for driver {self.driver}")
        try:
            if self.driver == "atop":
                _check_url(self.url, ("tcp",))
            else:
                check_serial_url(self.url)
        except ValueError as err:
            raise ValueError(f"url: {err}") from None
        return self

    @property
    def node_list(self) -> list[int]:
        """The modules' node numbers, sorted."""
        return parse_nodes(self.nodes)


class LabelPrinterDevice(_Device):
    """A network label printer taking ZPL on a raw TCP port (Zebra and most industrial ones)."""

    kind: Literal["label_printer"]
    driver: Literal["zpl"] = "zpl"
    url: str = Field(description="tcp://HOST:PORT, port 9100 on most printers")
    timeout_ms: int = Field(2000, gt=0, le=60000, description="connect, send, status answer")
    dpi: Literal[152, 203, 300, 600] = Field(203, description="print head resolution")
    label_width_mm: float = Field(100, gt=0, le=300)
    label_height_mm: float = Field(150, gt=0, le=1000)
    status_interval_ms: int = Field(
        5000, gt=0, description="how often the host status (~HS) is asked"
    )
    paper_out_field: tuple[int, int] = Field(
        (1, 2),
        description="~HS: (string, field), both from 1, of the paper-out flag (check the "
        "printer's manual)",
    )
    pause_field: tuple[int, int] = Field((1, 3), description="~HS: (string, field) of pause")
    head_up_field: tuple[int, int] = Field((2, 3), description="~HS: (string, field) of head up")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v, ("tcp",))


ASRS_DEFAULTS: dict[str, dict[str, str]] = {
    "osip": {
        "our_id": "MFC__",
        "device_id": "SPS03",
        "in_location": "FGIN/IPNT/0001/0000/0000",
        "out_location": "FGOU/OPNT/0001/0000/0000",
    },
    "gebhardt": {
        "our_id": "WCS",
        "device_id": "CRA-01",
        "in_location": "IP-01",
        "out_location": "OP-01",
    },
}
"""Per-protocol defaults of the AS/RS ids and ports (the simulator uses the same)."""


class AsrsDevice(_Device):
    """An AS/RS buffer (crane or shuttle) speaking TCP telegrams over one duplex connection;
    the controller is the TCP client."""

    kind: Literal["asrs"]
    protocol: Literal["osip", "gebhardt"] = Field(
        description="osip (OpenWMS fixed-length telegrams) or gebhardt (/Seq:…/End/ telegrams "
        "with acks)"
    )
    url: str = Field(description="tcp://HOST:PORT of the AS/RS controller (one duplex link)")
    our_id: str | None = Field(
        None,
        description="our sender id (osip: 5 characters, padded with _; default MFC__; "
        "gebhardt: default WCS)",
    )
    device_id: str | None = Field(
        None, description="the AS/RS's id (default osip SPS03, gebhardt CRA-01)"
    )
    reply_timeout_ms: int = Field(
        2000, gt=0, le=60000, description="a telegram's reply (osip RES_) or ack waited for"
    )
    max_retries: int = Field(
        3, ge=0, le=20, description="retransmissions (same sequence) before a device timeout"
    )
    telegram_length: int = Field(
        160,
        ge=129,
        le=9999,
        description="osip: the fixed telegram length (without CRLF; RES_ needs 129)",
    )
    in_location: str | None = Field(
        None,
        description="the in-port where containers are handed over for storing (osip: five "
        "4-character parts, default FGIN/IPNT/0001/0000/0000; gebhardt: default IP-01)",
    )
    out_location: str | None = Field(
        None,
        description="the out-port where retrieved containers are delivered (osip default "
        "FGOU/OPNT/0001/0000/0000; gebhardt default OP-01)",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v, ("tcp",))

    @model_validator(mode="after")
    def _defaults(self) -> AsrsDevice:
        for key, value in ASRS_DEFAULTS[self.protocol].items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        if self.protocol == "osip":
            for key in ("our_id", "device_id"):
                if len(getattr(self, key)) > 5:
                    raise ValueError(f"{key}: an osip id is at most 5 characters")
            for key in ("in_location", "out_location"):
                loc = getattr(self, key)
                parts = loc.split("/") if "/" in loc else [loc[i : i + 4] for i in range(0, 20, 4)]
                if len(parts) != 5 or any(len(p) != 4 for p in parts) or len(loc) not in (20, 24):
                    raise ValueError(f"{key}: an osip location is five 4-character parts")
        else:
            for key in ("our_id", "device_id", "in_location", "out_location"):
                if "/" in getattr(self, key):
                    raise ValueError(f"{key}: a gebhardt value may not contain '/'")
        return self


Device = Annotated[
    SorterPlcDevice
    | BarcodeReaderDevice
    | CameraDevice
    | ScaleDevice
    | DimensionerDevice
    | PickToLightDevice
    | LabelPrinterDevice
    | AsrsDevice,
    Field(discriminator="kind"),
]
