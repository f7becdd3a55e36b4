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

``parcel_state_counts`` (parcels per line and state) and ``parcel_terminal_minutes``
(terminal parcels per line and minute of their last update; a line's first parcel of a
minute drops its minutes more than two hours older) are kept by a trigger on
``parcels`` in the same transaction as the rows, so the site's counters read a few
hundred rows instead of scanning ``parcels`` (0.9 ms against 115 ms at a million parcels,
``benchmarks/site_counters.py``). A database
made by schema version 1 gets them filled from ``parcels`` once, under a lock that holds
the relays' writes back meanwhile (:data:`COUNTS_BACKFILL`).

Block-range (BRIN) indexes on the time columns (a parcel's ``inducted``, which its
updates keep) let the site's retention (:mod:`controller.site.service.retention`) find old
rows without reading whole tables; they cost the relays' inserts next to nothing.

Tables and columns are only ever added (``CREATE … IF NOT EXISTS``), never renamed, so a
newer relay and an older site service share a database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

#: Every relayed stream, in the order a relay sends them.
STREAMS = ("events", "containers", "wall_containers", "container_moves", "trucks", "wall_events")

SCHEMA_VERSION = 2
"""2: the counts tables and their trigger (:data:`COUNTS_BACKFILL` brings a 1 up to it)."""

TERMINAL_STATES = ("sorted", "rejected", "lost")
"""The parcel states that end a parcel (counted by minute for the last hour)."""

_TERMINAL = ", ".join(f"'{state}'" for state in TERMINAL_STATES)

SCHEMA = f"""
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
CREATE INDEX IF NOT EXISTS parcels_by_inducted ON parcels USING brin(inducted)
    WITH (autosummarize = on);
CREATE INDEX IF NOT EXISTS containers_by_closed ON containers USING brin(closed)
    WITH (autosummarize = on);
CREATE INDEX IF NOT EXISTS container_moves_by_time ON container_moves USING brin(time)
    WITH (autosummarize = on);
CREATE INDEX IF NOT EXISTS trucks_by_time ON trucks USING brin(time) WITH (autosummarize = on);
CREATE INDEX IF NOT EXISTS wall_events_by_time ON wall_events USING brin(time)
    WITH (autosummarize = on);
CREATE TABLE IF NOT EXISTS parcel_state_counts(
    line TEXT NOT NULL, state TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY(line, state));
CREATE TABLE IF NOT EXISTS parcel_terminal_minutes(
    line TEXT NOT NULL, minute BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY(line, minute));
CREATE INDEX IF NOT EXISTS parcel_terminal_minutes_by_minute
    ON parcel_terminal_minutes(minute);
CREATE OR REPLACE FUNCTION parcels_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_minute BIGINT;
    new_minute BIGINT := floor(NEW.updated / 60);
    fresh BOOLEAN;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_minute := floor(OLD.updated / 60);
        IF OLD.state = NEW.state AND (old_minute = new_minute
                OR OLD.state NOT IN ({_TERMINAL})) THEN
            RETURN NULL;
        END IF;
        UPDATE parcel_state_counts SET n = n - 1 WHERE line = OLD.line AND state = OLD.state;
        IF OLD.state IN ({_TERMINAL}) THEN
            UPDATE parcel_terminal_minutes SET n = n - 1
                WHERE line = OLD.line AND minute = old_minute;
        END IF;
    END IF;
    INSERT INTO parcel_state_counts AS c(line, state, n) VALUES(NEW.line, NEW.state, 1)
        ON CONFLICT(line, state) DO UPDATE SET n = c.n + 1;
    IF NEW.state IN ({_TERMINAL}) THEN
        INSERT INTO parcel_terminal_minutes AS m(line, minute, n) VALUES(NEW.line, new_minute, 1)
            ON CONFLICT(line, minute) DO UPDATE SET n = m.n + 1 RETURNING (xmax = 0) INTO fresh;
        IF fresh THEN  -- the line's first parcel of a minute: drop its minutes of long ago
            DELETE FROM parcel_terminal_minutes
                WHERE line = NEW.line AND minute < new_minute - 120;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER parcels_count AFTER INSERT OR UPDATE ON parcels
    FOR EACH ROW EXECUTE FUNCTION parcels_count();
"""

COUNTS_BACKFILL = f"""
LOCK TABLE parcels IN SHARE ROW EXCLUSIVE MODE;
DELETE FROM parcel_state_counts;
DELETE FROM parcel_terminal_minutes;
INSERT INTO parcel_state_counts(line, state, n)
    SELECT line, state, count(*) FROM parcels GROUP BY line, state;
INSERT INTO parcel_terminal_minutes(line, minute, n)
    SELECT line, floor(updated / 60)::BIGINT, count(*) FROM parcels
    WHERE state IN ({_TERMINAL}) GROUP BY 1, 2;
UPDATE site_schema SET version = 2 WHERE version < 2;
"""
"""Fill the counts of a version-1 database from ``parcels`` (inside the schema lock's
transaction, with the relays' writes to ``parcels`` held back until it commits)."""

SCHEMA_LOCK = 0x4C414E45
"""``pg_advisory_xact_lock`` key: one schema creator at a time (relays, the site service)."""


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the schema where it is missing and bring an older one up to this version, in
    one transaction under :data:`SCHEMA_LOCK` (every relay does it when it connects, the
    site service when it starts)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(SCHEMA)
        conn.execute(
            "INSERT INTO site_schema(version) SELECT %s"
            " WHERE NOT EXISTS (SELECT 1 FROM site_schema)",
            (SCHEMA_VERSION,),
        )
        version = conn.execute("SELECT min(version) FROM site_schema").fetchone()
        if version is not None and version[0] < 2:
            conn.execute(COUNTS_BACKFILL)
