"""The Sparkplug 3.0 specification's normative statements, by their ids, checked on the
stream a test primary host captured from our edge node (:mod:`.scenario`).

The Eclipse TCK itself needs HiveMQ and Maven; these checks read the same statements
(``[tck-id-…]`` in the specification's chapters 4–6) on what the broker delivered.
docs/sparkplug.md lists which ids are checked here and which are not.
"""

from __future__ import annotations

import asyncio
import itertools
import threading

import pytest

from drivers.sparkplug import BDSEQ, REBIRTH, DataType, MessageType
from tests.conftest import free_port
from tests.drivers.sparkplug import rules, scenario
from tests.drivers.sparkplug.host import Seen

N = "spBv1.0/hub"


@pytest.fixture(scope="module")
def cap() -> scenario.Capture:
    """The scenario, played once for the module (in a thread with its own event loop)."""
    result: list[scenario.Capture | BaseException] = []

    def play() -> None:
        try:
            result.append(asyncio.run(scenario.run(port)))
        except BaseException as err:
            result.append(err)

    port = free_port()
    with scenario.broker(port):
        thread = threading.Thread(target=play)
        thread.start()
        thread.join(60)
    assert result, "the scenario did not finish in 60 s"
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def node_messages(cap: scenario.Capture, start: str = "", end: str = "") -> list[Seen]:
    """The edge node's messages (not STATE, not the host's commands) between two marks."""
    lo = cap.marks[start] if start else 0
    hi = cap.marks[end] if end else len(cap.seen)
    return [
        s
        for s in cap.seen[lo:hi]
        if s.sparkplug is not None and s.sparkplug.type not in ("NCMD", "DCMD")
    ]


def of(cap: scenario.Capture, kind: str) -> list[Seen]:
    return [s for s in node_messages(cap) if s.sparkplug.type == kind]


def seq_stream(cap: scenario.Capture) -> list[tuple[str, int | None]]:
    return [(s.sparkplug.type, s.decoded().seq) for s in node_messages(cap)]


def metric(seen: Seen, name: str):
    [m] = [m for m in seen.decoded().metrics if m.name == name]
    return m


# --- topics (chapter 4) --------------------------------------------------------------


def test_tck_id_topic_structure_and_device_id_only_on_device_messages(cap):
    """tck-id-topic-structure, -namespace-a, -device-id-associated-message-types,
    -device-id-non-associated-message-types, tck-id-topics-{nbirth,ndata,ndeath,dbirth,
    ddata,ddeath}-topic."""
    for s in node_messages(cap):
        t = s.sparkplug
        assert s.topic.startswith(f"{N}/{t.type}/line-1")
        assert (t.device is not None) == t.type.for_device
    assert {s.sparkplug.device for s in of(cap, "DBIRTH")} == {"line", "chute-1"}


# --- NBIRTH --------------------------------------------------------------------------


def test_tck_id_topics_nbirth_mqtt_and_payloads_nbirth_qos_retain(cap):
    """tck-id-topics-nbirth-mqtt, tck-id-payloads-nbirth-qos, -retain: QoS 0, not retained."""
    births = of(cap, "NBIRTH")
    assert len(births) == 4  # first, rebirth, rebirth with a dead device, host back
    assert all(s.qos == 0 and not s.retain for s in births)


def test_tck_id_topics_nbirth_seq_num_and_timestamp(cap):
    """tck-id-topics-nbirth-seq-num (seq 0), tck-id-topics-nbirth-timestamp,
    tck-id-payloads-nbirth-timestamp, tck-id-payloads-timestamp-in-UTC."""
    for s in of(cap, "NBIRTH"):
        payload = s.decoded()
        assert payload.seq == 0
        assert abs(payload.timestamp / 1000 - s.at) < 5  # UTC ms, near the arrival


def test_tck_id_topics_nbirth_bdseq_included_and_rebirth_metric(cap):
    """tck-id-topics-nbirth-bdseq-included, tck-id-payloads-nbirth-bdseq,
    tck-id-topics-nbirth-rebirth-metric, tck-id-payloads-nbirth-rebirth-req,
    tck-id-operational-behavior-data-commands-rebirth-name, -datatype, -value, -name-aliases
    (no alias on Node Control/Rebirth)."""
    for s in of(cap, "NBIRTH"):
        bdseq = metric(s, BDSEQ)
        assert bdseq.datatype is DataType.INT64
        rebirth = metric(s, REBIRTH)
        assert (rebirth.datatype, rebirth.value, rebirth.alias) == (DataType.BOOLEAN, False, None)


def test_tck_id_topics_nbirth_bdseq_matching_and_increment(cap):
    """tck-id-topics-nbirth-bdseq-matching, tck-id-payloads-nbirth-bdseq-repeat,
    tck-id-payloads-ndeath-bdseq, tck-id-topics-nbirth-bdseq-increment,
    tck-id-message-flow-edge-node-birth-publish-nbirth-payload-bdSeq: each NDEATH (the
    one we published, the broker's will) carries its connection's NBIRTH bdSeq; the next
    connection's is one more."""
    births = [metric(s, BDSEQ).value for s in of(cap, "NBIRTH")]
    deaths = [metric(s, BDSEQ).value for s in of(cap, "NDEATH")]
    first, second = cap.bdseqs
    assert births == [first, first, first, second]  # a rebirth keeps the connection's bdSeq
    assert deaths == [first, second]
    assert first == 0  # the first CONNECT
    assert second > first  # one per CONNECT (the reconnect may have taken more than one)


def test_tck_id_topics_nbirth_metrics_name_datatype_value(cap):
    """tck-id-topics-nbirth-metrics, tck-id-topics-dbirth-metrics,
    tck-id-payloads-metric-datatype-req, tck-id-payloads-name-birth-data-requirement
    (timestamp on every metric), tck-id-operational-behavior-data-publish-nbirth-values and
    -dbirth-values (null is is_null without a value)."""
    for s in of(cap, "NBIRTH") + of(cap, "DBIRTH"):
        for m in s.decoded().metrics:
            assert m.name and m.datatype is not None and m.timestamp is not None
    p99 = [m for m in of(cap, "DBIRTH")[0].decoded().metrics if m.name == "Answer p99 ms"]
    assert p99 and p99[0].value is None


def test_tck_id_payloads_alias_uniqueness_and_birth_requirement(cap):
    """tck-id-payloads-alias-uniqueness, tck-id-payloads-alias-birth-requirement: every
    birth metric but Node Control/Rebirth has an alias, unique across node and devices."""
    births = of(cap, "NBIRTH")[:1] + of(cap, "DBIRTH")[:2]
    aliases = [m.alias for s in births for m in s.decoded().metrics if m.name != REBIRTH]
    assert None not in aliases
    assert len(aliases) == len(set(aliases))


# --- DBIRTH, data ------------------------------------------------------------------------


def test_tck_id_payloads_dbirth_order_and_device_birth_nbirth_wait(cap):
    """tck-id-payloads-dbirth-order, tck-id-message-flow-device-birth-publish-nbirth-wait,
    tck-id-payloads-ndata-order, tck-id-payloads-ddata-order: every NBIRTH is followed at
    once by the DBIRTHs of the devices online (every birth's list is checked in its phase's
    test), and no data comes before them in a session."""
    first = node_messages(cap, "host-online", "data")
    assert [(s.sparkplug.type, s.sparkplug.device) for s in first] == [
        ("NBIRTH", None), ("DBIRTH", "line"), ("DBIRTH", "chute-1"),
    ]  # fmt: skip
    messages = node_messages(cap)
    for i, s in enumerate(messages):
        if s.sparkplug.type == "NBIRTH":
            assert messages[i + 1].sparkplug.type == "DBIRTH"
    kinds = [s.sparkplug.type for s in messages]
    first_birth = kinds.index("NBIRTH")
    assert all(k not in ("NDATA", "DDATA") for k in kinds[:first_birth])


def test_tck_id_birth_and_data_mqtt_qos_0_not_retained(cap):
    """tck-id-topics-dbirth-mqtt, tck-id-payloads-dbirth-qos, -retain,
    tck-id-topics-ddata-mqtt, tck-id-payloads-ddata-qos, -retain, tck-id-topics-ddeath-mqtt."""
    assert of(cap, "DDEATH")
    for s in of(cap, "DBIRTH") + of(cap, "DDATA") + of(cap, "NDATA") + of(cap, "DDEATH"):
        assert s.qos == 0 and not s.retain


def test_tck_id_payloads_sequence_num_incrementing_and_wrapping(cap):
    """tck-id-payloads-sequence-num-always-included, -incrementing, tck-id-topics-ddata-seq-num,
    tck-id-topics-dbirth-seq, tck-id-payloads-dbirth-seq-inc, tck-id-payloads-ddata-seq-inc,
    tck-id-topics-ddeath-seq-num, tck-id-payloads-ddeath-seq, -seq-number, -seq-inc: +1 on
    every message after an NBIRTH, 255 → 0; 260 DDATA made it wrap."""
    stream = seq_stream(cap)
    wrapped = False
    for (_, before), (kind, seq) in itertools.pairwise(stream):
        if kind == "NDEATH":
            assert seq is None  # tck-id-topics-ndeath-seq, tck-id-payloads-ndeath-seq
            continue
        assert seq is not None and 0 <= seq <= 255
        if kind != "NBIRTH" and before is not None:
            assert seq == (before + 1) % 256
            wrapped |= seq == 0
    assert wrapped


def test_tck_id_payloads_alias_data_cmd_requirement_and_report_by_exception(cap):
    """tck-id-payloads-alias-data-cmd-requirement (alias only, no name),
    tck-id-payloads-metric-datatype-not-req, tck-id-topics-ddata-payload and
    tck-id-operational-behavior-data-publish-dbirth-change: one changed metric a message."""
    count_alias = next(m.alias for m in of(cap, "DBIRTH")[0].decoded().metrics if m.name == "Count")
    data = node_messages(cap, "data", "rebirth")
    assert len(data) == scenario.DATA_MESSAGES
    for i, s in enumerate(data, start=1):
        [m] = s.decoded({count_alias: DataType.INT64}).metrics
        assert (m.name, m.datatype, m.alias, m.value) == (None, None, count_alias, i)
        assert m.timestamp is not None


# --- rebirth, commands -------------------------------------------------------------------


def test_tck_id_operational_behavior_data_commands_rebirth_action(cap):
    """tck-id-operational-behavior-data-commands-rebirth-action-1, -2, -3: after the rebirth
    request no data, then NBIRTH (seq 0, same bdSeq) and every DBIRTH."""
    after = node_messages(cap, "rebirth", "commands")
    assert [s.sparkplug.type for s in after] == ["NBIRTH", "DBIRTH", "DBIRTH"]
    assert after[0].decoded().seq == 0
    assert metric(after[0], BDSEQ).value == cap.bdseqs[0]


def test_commands_from_the_host_reach_the_node_and_the_broker_acl_drops_others(cap):
    """tck-id-message-flow-edge-node-ncmd-subscribe, tck-id-message-flow-device-dcmd-subscribe
    (the node hears NCMD and DCMD), an alias-only DCMD is resolved
    (tck-id-payloads-alias-data-cmd-requirement); the intruder's DCMD never arrives."""
    assert cap.commands == [("chute-1", "Enabled", False), (None, "Line Control/Start", True)]


# --- a device lost and back --------------------------------------------------------------


def test_tck_id_operational_behavior_device_ddeath_and_its_dbirth_when_back(cap):
    """tck-id-operational-behavior-device-ddeath, tck-id-topics-ddeath-topic,
    tck-id-payloads-ddeath-timestamp: the device's last change, then its DDEATH (its own
    topic, a timestamp, no metric); no data of it while it is dead
    (tck-id-payloads-ddata-order: none of a device without its birth); in a rebirth it is
    born with the others and dies again at once; its DBIRTH once it is back, with the value
    it took meanwhile."""
    down = node_messages(cap, "device-down", "device-rebirth")
    assert [(s.sparkplug.type, s.sparkplug.device) for s in down] == [
        ("DDATA", "chute-1"), ("DDEATH", "chute-1"),
    ]  # fmt: skip
    for death in of(cap, "DDEATH"):
        assert death.topic == f"{N}/DDEATH/line-1/chute-1"
        payload = death.decoded()
        assert len(payload.metrics) == 0 and payload.seq is not None
        assert abs(payload.timestamp / 1000 - death.at) < 5
    reborn = node_messages(cap, "device-rebirth", "device-up")
    assert [(s.sparkplug.type, s.sparkplug.device) for s in reborn] == [
        ("NBIRTH", None), ("DBIRTH", "line"), ("DBIRTH", "chute-1"), ("DDEATH", "chute-1"),
    ]  # fmt: skip
    assert metric(reborn[2], "Enabled").value is True  # set while it was dead
    back = node_messages(cap, "device-up", "old-state")
    assert [(s.sparkplug.type, s.sparkplug.device) for s in back] == [("DBIRTH", "chute-1")]
    assert metric(back[0], "Enabled").value is False  # set while it was dead again


# --- the primary host, NDEATH ----------------------------------------------------------


def test_tck_id_message_flow_edge_node_birth_publish_phid_wait(cap):
    """tck-id-message-flow-edge-node-birth-publish-phid-wait, -wait-online,
    tck-id-operational-behavior-edge-node-birth-sequence-wait: nothing before the host's
    online STATE, nothing while it is offline after the reconnect."""
    assert node_messages(cap, "", "host-online") == []
    offline = node_messages(cap, "host-offline", "host-back")
    assert [s.sparkplug.type for s in offline] == ["NDEATH"]


def test_tck_id_operational_behavior_edge_node_termination_host_offline_timestamp(cap):
    """tck-id-operational-behavior-edge-node-termination-host-offline-timestamp,
    tck-id-message-flow-edge-node-birth-publish-phid-wait-timestamp: an offline STATE older
    than the online one is ignored."""
    assert [s.sparkplug.type for s in node_messages(cap, "old-state", "host-offline")] == []


def test_tck_id_message_flow_edge_node_birth_publish_phid_offline(cap):
    """tck-id-message-flow-edge-node-birth-publish-phid-offline,
    tck-id-operational-behavior-edge-node-termination-host-offline: NDEATH, disconnect,
    connect again (a new bdSeq), births once the host is back."""
    back = node_messages(cap, "host-back", "cut")
    assert [s.sparkplug.type for s in back] == ["NBIRTH", "DBIRTH", "DBIRTH"]
    assert metric(back[0], BDSEQ).value == cap.bdseqs[1] != cap.bdseqs[0]


def test_tck_id_payloads_ndeath_will_message_qos_1_not_retained(cap):
    """tck-id-payloads-ndeath-will-message, -qos, -retain, tck-id-topics-ndeath-payload
    (bdSeq only), tck-id-message-flow-edge-node-birth-publish-will-message-topic, -qos,
    -will-retained, -payload-bdSeq: the broker's will after the cut connection, and the
    NDEATH the node published itself, both QoS 1, not retained, one Int64 bdSeq."""
    deaths = of(cap, "NDEATH")
    assert len(deaths) == 2
    assert node_messages(cap, "cut") == deaths[1:]
    for s in deaths:
        assert s.topic == f"{N}/NDEATH/line-1"
        assert s.qos == 1 and not s.retain
        [m] = s.decoded().metrics
        assert (m.name, m.datatype) == (BDSEQ, DataType.INT64)
        assert s.decoded().seq is None


def test_message_type_enum_covers_the_specification():
    assert {t.value for t in MessageType} == {
        "NBIRTH", "NDEATH", "NDATA", "NCMD", "DBIRTH", "DDEATH", "DDATA", "DCMD",
    }  # fmt: skip


def test_the_long_run_rule_checker_finds_the_scenario_clean_and_a_broken_stream_not(cap):
    """tests/drivers/sparkplug/rules.py (used by the site fault test) on the scenario: three
    sessions (two ended by NDEATH), no problem; with one DDATA dropped, a seq gap, with
    the first NBIRTH dropped, data outside a session, and with a device's DBIRTH dropped,
    data of a device without its birth."""
    report = rules.violations(cap.seen)
    assert report.problems == []
    node = report.nodes[scenario.NODE]
    assert (node.births, node.deaths) == (4, 2)  # first, two rebirths, host back
    assert node.data == scenario.DATA_MESSAGES + 1  # and the device's last before its death
    ddata = next(i for i, s in enumerate(cap.seen) if "/DDATA/" in s.topic)
    gap = rules.violations(cap.seen[:ddata] + cap.seen[ddata + 1 :]).problems
    assert gap and "tck-id-payloads-sequence-num-incrementing" in gap[0]
    nbirth = next(i for i, s in enumerate(cap.seen) if "/NBIRTH/" in s.topic)
    orphan = rules.violations(cap.seen[:nbirth] + cap.seen[nbirth + 1 :]).problems
    assert any("outside a session" in p for p in orphan)
    dbirth = next(i for i, s in enumerate(cap.seen) if s.topic.endswith("/DBIRTH/line-1/line"))
    unborn = rules.violations(cap.seen[:dbirth] + cap.seen[dbirth + 1 :]).problems
    assert any("without its DBIRTH" in p for p in unborn)
