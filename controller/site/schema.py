"""The site store's tables in PostgreSQL: what every line relays, keyed repeat-safe.

Every relayed row carries its line and the position it had in that line's journal
(``sequence``: the SQLite row id of its stream), and ``(line, sequence)`` is its
primary key, so a batch sent twice (a relay restarted after the commit but before it
noted its position) inserts nothing the second time (``ON CONFLICT DO NOTHING``).
``relay_positions`` holds, per line and stream, the last position committed; it is
written in the same transaction as the batch, so it is never ahead of the rows.

``parcels`` is the latest state of each parcel, derived from ``parcel_events`` in the
same transaction (an event only moves a parcel forward: a row keeps the highest
``last_sequence``). A parcel has at most one terminal event per line and session
(a partial unique index, as in the line's own journal).

Streams (name → table): ``events`` → ``parcel_events`` (+ ``parcels``),
``containers`` → ``containers`` (chute close-outs), ``wall_containers`` → ``containers``
(put-wall containers, ``kind = 'wall'``), ``container_moves`` → ``container_moves``,
``trucks`` → ``trucks`` (a truck's loading summary), ``wall_events`` → ``wall_events``
(every put-wall and loading record, append-only; those that change a container also
rewrite its ``containers`` row, whose ``detail`` then holds the container's current
``state``, ``loaded`` time, ``position`` and ``door``, and ``detail.wall_sequence`` the
wall event it follows). Times are epoch seconds (double).

Tables and columns are only ever added (``CREATE … IF NOT EXISTS``), never renamed, so a
newer relay and an older site service share a database.
"""

from __future__ import annotations

#: Every relayed stream, in the order a relay sends them.
STREAMS = ("events", "containers", "wall_containers", "container_moves", "trucks", "wall_events")

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS site_schema(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS site_lines(
    line TEXT PRIMARY KEY, site TEXT NOT NULL, hmi_url TEXT, api_url TEXT,
    first_seen DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS relay_positions(
    line TEXT NOT NULL, stream TEXT NOT NULL, position BIGINT NOT NULL,
    rows BIGINT NOT NULL DEFAULT 0, updated DOUBLE PRECISION NOT NULL,
    PRIMARY KEY(line, stream));
CREATE TABLE IF NOT EXISTS parcel_events(
    line TEXT NOT NULL, sequence BIGINT NOT NULL, session INTEGER NOT NULL,
    uid BIGINT NOT NULL, tracking_id BIGINT NOT NULL, time DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL, state TEXT NOT NULL, barcode TEXT, route TEXT, chute INTEGER,
    reason TEXT, detail JSONB, relayed DOUBLE PRECISION NOT NULL,
    PRIMARY KEY(line, sequence));
CREATE UNIQUE INDEX IF NOT EXISTS parcel_events_one_terminal
    ON parcel_events(line, session, uid) WHERE kind = 'terminal';
CREATE INDEX IF NOT EXISTS parcel_events_by_parcel ON parcel_events(line, session, uid);
CREATE TABLE IF NOT EXISTS parcels(
    line TEXT NOT NULL, session INTEGER NOT NULL, uid BIGINT NOT NULL,
    tracking_id BIGINT NOT NULL, barcode TEXT, route TEXT, state TEXT NOT NULL,
    chute INTEGER, reason TEXT, inducted DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL, weight_kg DOUBLE PRECISION,
    length_mm DOUBLE PRECISION, width_mm DOUBLE PRECISION, height_mm DOUBLE PRECISION,
    last_sequence BIGINT NOT NULL,
    PRIMARY KEY(line, session, uid));
CREATE INDEX IF NOT EXISTS parcels_by_barcode ON parcels(barcode);
CREATE INDEX IF NOT EXISTS parcels_by_state ON parcels(line, state);
CREATE TABLE IF NOT EXISTS containers(
    line TEXT NOT NULL, stream TEXT NOT NULL, sequence BIGINT NOT NULL,
    container_id TEXT NOT NULL, kind TEXT NOT NULL, chute INTEGER, route TEXT, truck TEXT,
    closed DOUBLE PRECISION NOT NULL, parcels INTEGER NOT NULL, reason TEXT, detail JSONB,
    PRIMARY KEY(line, stream, sequence));
CREATE INDEX IF NOT EXISTS containers_by_id ON containers(container_id);
CREATE TABLE IF NOT EXISTS container_moves(
    line TEXT NOT NULL, sequence BIGINT NOT NULL, time DOUBLE PRECISION NOT NULL,
    container_id TEXT NOT NULL, kind TEXT NOT NULL, place TEXT NOT NULL, detail TEXT,
    PRIMARY KEY(line, sequence));
CREATE TABLE IF NOT EXISTS trucks(
    line TEXT NOT NULL, sequence BIGINT NOT NULL, truck TEXT NOT NULL,
    time DOUBLE PRECISION NOT NULL, summary JSONB NOT NULL,
    PRIMARY KEY(line, sequence));
CREATE INDEX IF NOT EXISTS trucks_by_truck ON trucks(truck);
CREATE TABLE IF NOT EXISTS wall_events(
    line TEXT NOT NULL, sequence BIGINT NOT NULL, time DOUBLE PRECISION NOT NULL,
    wall TEXT NOT NULL, kind TEXT NOT NULL, parcel_id TEXT, cubby TEXT, container_id TEXT,
    reason TEXT, grp TEXT, actor TEXT,
    PRIMARY KEY(line, sequence));
CREATE INDEX IF NOT EXISTS wall_events_by_container ON wall_events(container_id);
CREATE INDEX IF NOT EXISTS wall_events_by_parcel ON wall_events(parcel_id);
"""
