"""A scripted VDA 5050 vehicle for the master's wire tests, over the real broker.

Not the simulator fleet (``simulators.fleet``): just enough of a vehicle to answer the
master: takes orders and stitched updates, drives released nodes one per ``step_s``, runs
pick/drop (or fails them), obeys cancelOrder and startPause/stopPause, rejects orders
when told, and can go silent (lost)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from drivers.mqtt.link import MqttLink
from plc_configs.mqtt import MqttSection
from plc_configs.vda5050 import messages, topics


class Vehicle:
    def __init__(self, url: str, serial: str, node: str, *, step_s: float = 0.02):
        self.serial = serial
        self.base = f"uagv/v2/LaneSim/{serial}"
        self.link = MqttLink(serial, MqttSection(url=url), client_id=f"test-{serial}")
        self.step_s = step_s
        self.ids = topics.HeaderIds()
        self.state: dict[str, Any] = {
            "orderId": "", "orderUpdateId": 0, "lastNodeId": node, "lastNodeSequenceId": 0,
            "nodeStates": [], "edgeStates": [], "driving": False, "actionStates": [],
            "batteryState": {"batteryCharge": 90.0, "charging": False},
            "operatingMode": "AUTOMATIC", "errors": [], "paused": False, "loads": [],
            "safetyState": {"eStop": "NONE", "fieldViolation": False},
        }  # fmt: skip
        self.actions: dict[int, list[dict[str, Any]]] = {}
        self.reject: str | None = None
        self.fail: set[str] = set()
        self.silent = False
        self.orders: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.link.subscribe(f"{self.base}/order", self._on_order)
        await self.link.subscribe(f"{self.base}/instantActions", self._on_instant)
        self._run = asyncio.create_task(self.link.run(), name=f"{self.serial}-mqtt")
        await self.link.wait_connected(5)
        self._task = asyncio.create_task(self._drive(), name=f"{self.serial}-drive")
        await self.publish()

    async def stop(self) -> None:
        for task in (self._task, self._run):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.link.close()

    async def publish(self) -> None:
        if self.silent:
            return
        header = {
            "headerId": self.ids.next("state"), "timestamp": messages.utc_timestamp(),
            "version": "2.1.0", "manufacturer": "LaneSim", "serialNumber": self.serial,
        }  # fmt: skip
        await self.link.publish(f"{self.base}/state", json.dumps({**header, **self.state}))

    def _action_state(self, action_id: str, status: str, kind: str) -> None:
        states = [a for a in self.state["actionStates"] if a["actionId"] != action_id]
        states.append({"actionId": action_id, "actionStatus": status, "actionType": kind})
        self.state["actionStates"] = states

    async def _on_order(self, topic: str, payload: bytes, retain: bool) -> None:
        order = json.loads(payload)
        self.orders.append(order)
        s = self.state
        if self.reject is not None:
            ref = [{"referenceKey": "orderId", "referenceValue": order["orderId"]}]
            s["errors"] = [
                {"errorType": self.reject, "errorLevel": "WARNING", "errorReferences": ref}
            ]
            await self.publish()
            return
        if order["orderId"] == s["orderId"]:
            if order["orderUpdateId"] <= s["orderUpdateId"]:
                return  # the same message again: ignored (VDA 5050 6.6.4.3)
            stitch = order["nodes"][0]
            base = [n for n in s["nodeStates"] if n["released"]]
            end = (
                base[-1]
                if base
                else {"nodeId": s["lastNodeId"], "sequenceId": s["lastNodeSequenceId"]}
            )
            assert (stitch["nodeId"], stitch["sequenceId"]) == (end["nodeId"], end["sequenceId"])
            s["nodeStates"] = [n for n in s["nodeStates"] if n["sequenceId"] < stitch["sequenceId"]]
            s["edgeStates"] = [e for e in s["edgeStates"] if e["sequenceId"] < stitch["sequenceId"]]
            if base:
                s["nodeStates"].append(_node_state(stitch))
        else:
            s["nodeStates"], s["edgeStates"] = [_node_state(order["nodes"][0])], []
            s["actionStates"] = [
                a for a in s["actionStates"] if a["actionStatus"] not in ("FINISHED", "FAILED")
            ]
        s["orderId"], s["orderUpdateId"], s["errors"] = order["orderId"], order["orderUpdateId"], []
        for node in order["nodes"][1:]:
            s["nodeStates"].append(_node_state(node))
        for edge in order["edges"]:
            s["edgeStates"].append({k: edge[k] for k in ("edgeId", "sequenceId", "released")})
        for node in order["nodes"]:
            if node["actions"] and node["sequenceId"] not in self.actions:
                self.actions[node["sequenceId"]] = node["actions"]
                for a in node["actions"]:
                    self._action_state(a["actionId"], "WAITING", a["actionType"])
        first = order["nodes"][0]
        if (
            first["nodeId"] == s["lastNodeId"]
            and s["nodeStates"]
            and s["nodeStates"][0]["sequenceId"] == first["sequenceId"]
            and order["orderUpdateId"] == 0
        ):
            s["nodeStates"].pop(0)
            s["lastNodeSequenceId"] = first["sequenceId"]
            await self._run_actions(first["sequenceId"])
        await self.publish()

    async def _run_actions(self, seq: int) -> None:
        for action in self.actions.pop(seq, []):
            kind, aid = action["actionType"], action["actionId"]
            self._action_state(aid, "RUNNING", kind)
            await self.publish()
            await asyncio.sleep(self.step_s)
            load = next(
                (p["value"] for p in action.get("actionParameters", []) if p["key"] == "loadId"),
                None,
            )
            if aid in self.fail or kind in self.fail:
                self._action_state(aid, "FAILED", kind)
                continue
            if kind == "pick":
                self.state["loads"] = [{"loadId": load}]
            elif kind == "drop":
                self.state["loads"] = []
            self._action_state(aid, "FINISHED", kind)

    async def _drive(self) -> None:
        s = self.state
        while True:
            await asyncio.sleep(self.step_s)
            nxt = s["nodeStates"][0] if s["nodeStates"] else None
            if s["paused"] or nxt is None or not nxt["released"]:
                continue
            s["nodeStates"].pop(0)
            s["edgeStates"] = [e for e in s["edgeStates"] if e["sequenceId"] > nxt["sequenceId"]]
            s["lastNodeId"], s["lastNodeSequenceId"] = nxt["nodeId"], nxt["sequenceId"]
            await self._run_actions(nxt["sequenceId"])
            await self.publish()

    async def _on_instant(self, topic: str, payload: bytes, retain: bool) -> None:
        for action in json.loads(payload)["actions"]:
            kind = action["actionType"]
            if kind == "cancelOrder":
                self.state["nodeStates"], self.state["edgeStates"] = [], []
                self.actions.clear()
                for a in self.state["actionStates"]:
                    if a["actionStatus"] in ("WAITING", "RUNNING"):
                        a["actionStatus"] = "FAILED"
            elif kind in ("startPause", "stopPause"):
                self.state["paused"] = kind == "startPause"
            self._action_state(action["actionId"], "FINISHED", kind)
        await self.publish()


def _node_state(node: dict[str, Any]) -> dict[str, Any]:
    return {k: node[k] for k in ("nodeId", "sequenceId", "released")}
