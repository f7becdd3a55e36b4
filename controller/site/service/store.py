"""Reading the site store (PostgreSQL) the lines' relays fill: parcels, counters, trucks.

One :class:`psycopg.AsyncConnection` (autocommit, read only), used by one query at a time;
a broken connection (PostgreSQL restarted) is dropped and the query tried once on a new
one. When PostgreSQL cannot be reached every call raises :class:`SiteStoreUnavailable`
naming the server and the cause, and the API answers 503 with it. The password comes from
the environment variable the site config names, never from the file.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.rows import dict_row

from controller.site.schema import TERMINAL_STATES as TERMINAL
from controller.site.schema import ensure_schema
from controller.site.service.errors import SiteStoreUnavailable

log = logging.getLogger("lanesort.site")


_PARCEL_COLUMNS = (
    "line, session, uid, tracking_id, barcode, route, state, chute, reason, inducted, "
    "updated, weight_kg, length_mm, width_mm, height_mm"
)


def where_of(conninfo: str) -> str:
    """``host:port/database`` of a URL or key=value conninfo (never the password)."""
    if "://" in conninfo:
        parts = urlsplit(conninfo)
        return f"{parts.hostname}:{parts.port or 5432}{parts.path}"
    fields = dict(p.split("=", 1) for p in conninfo.split() if "=" in p)
    return f"{fields.get('host', '?')}:{fields.get('port', 5432)}/{fields.get('dbname', '?')}"


def connect_options(password: str | None, connect_timeout_s: float) -> dict[str, Any]:
    """The psycopg connect keywords of every site store connection (the password from the
    environment, never the URL)."""
    options: dict[str, Any] = {"connect_timeout": max(1, round(connect_timeout_s))}
    if password is not None:
        options["password"] = password
    return options


class SiteStore:
    """The site's read access to PostgreSQL."""

    def __init__(self, conninfo: str, password: str | None = None, connect_timeout_s: float = 3):
        self.conninfo = conninfo
        self.where = where_of(conninfo)
        self._password = password
        self._timeout = connect_timeout_s
        self._conn: psycopg.AsyncConnection[dict[str, Any]] | None = None
        self._lock = asyncio.Lock()
        self.up = False
        """Whether the last query succeeded (the ``lanesort_site_postgres_up`` metric)."""
        self.last_error: str | None = None
        self._counters: tuple[float, dict[str, Any]] | None = None

    async def _connect(self) -> psycopg.AsyncConnection[dict[str, Any]]:
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo,
            autocommit=True,
            row_factory=dict_row,
            **connect_options(self._password, self._timeout),
        )
        await conn.execute("SET default_transaction_read_only = on")
        return conn

    async def fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """The rows of one query; a dropped connection is reopened once."""
        async with self._lock:
            while True:
                fresh = self._conn is None or self._conn.closed
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = await self._connect()
                    cur = await self._conn.execute(sql, params)  # type: ignore[arg-type]
                    rows = await cur.fetchall()
                except psycopg.OperationalError as err:
                    await self._drop()
                    if not fresh:
                        continue  # a connection that broke since (a restart): once more
                    self.up, self.last_error = False, short_error(err)
                    raise SiteStoreUnavailable(
                        f"the site store (PostgreSQL at {self.where}) is unavailable: "
                        f"{self.last_error}"
                    ) from err
                except psycopg.Error as err:
                    self.up, self.last_error = False, short_error(err)
                    raise SiteStoreUnavailable(
                        f"the site store (PostgreSQL at {self.where}) refused a query: "
                        f"{self.last_error}"
                    ) from err
                self.up, self.last_error = True, None
                return rows

    async def prepare_schema(self) -> None:
        """Create the store's tables where they are missing, or bring older ones up to
        date, so the site answers before any line relayed (on a connection of its own, in
        a worker thread); :class:`SiteStoreUnavailable` when that cannot be done."""
        try:
            await asyncio.to_thread(self._prepare_schema)
        except psycopg.Error as err:
            raise SiteStoreUnavailable(
                f"the site store (PostgreSQL at {self.where}): the schema could not be "
                f"prepared: {short_error(err)}"
            ) from err

    def _prepare_schema(self) -> None:
        options = connect_options(self._password, self._timeout)
        with psycopg.connect(self.conninfo, autocommit=True, **options) as conn:
            ensure_schema(conn)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            try:
                await conn.close()
            except psycopg.Error:
                log.debug("closing a broken site store connection failed", exc_info=True)

    async def close(self) -> None:
        """Close the connection (a later query opens a new one)."""
        async with self._lock:
            await self._drop()

    async def parcels(self, barcode: str) -> list[dict[str, Any]]:
        """Every parcel with ``barcode`` on any line (newest first), each with its events."""
        parcels = await self.fetch(
            f"SELECT {_PARCEL_COLUMNS} FROM parcels WHERE barcode = %s "
            "ORDER BY updated DESC LIMIT 100",
            (barcode,),
        )
        if not parcels:
            return []
        events = await self.fetch(
            "SELECT e.line, e.session, e.uid, e.sequence, e.time, e.kind, e.state, e.barcode,"
            " e.route, e.chute, e.reason, e.detail FROM parcel_events e"
            " JOIN parcels p ON p.line = e.line AND p.session = e.session AND p.uid = e.uid"
            " WHERE p.barcode = %s ORDER BY e.line, e.sequence",
            (barcode,),
        )
        by_parcel: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
        for event in events:
            key = (event.pop("line"), event.pop("session"), event.pop("uid"))
            by_parcel.setdefault(key, []).append(event)
        for parcel in parcels:
            parcel["events"] = by_parcel.get((parcel["line"], parcel["session"], parcel["uid"]), [])
        return parcels

    async def counters(self, max_age_s: float = 0.0) -> dict[str, Any]:
        """Parcels by state per line and the site's sum, terminal parcels in the last hour,
        and each line's relay positions (stream → position, rows, age).

        The counts come from the tables the store keeps beside ``parcels``
        (:mod:`controller.site.schema`): a few hundred rows, however many parcels. The last
        hour counts whole minutes (up to a minute more than an hour). The HMI and the
        metrics share one result up to ``max_age_s`` old.
        """
        now = time.time()
        if self._counters is not None and now - self._counters[0] <= max_age_s:
            return self._counters[1]
        result = await self._count(now)
        self._counters = (now, result)
        return result

    async def _count(self, now: float) -> dict[str, Any]:
        by_state = await self.fetch(
            "SELECT line, state, n FROM parcel_state_counts WHERE n <> 0 ORDER BY line, state"
        )
        hour = await self.fetch(
            "SELECT line, sum(n)::BIGINT AS n FROM parcel_terminal_minutes WHERE minute >= %s"
            " GROUP BY line",
            (int((now - 3600) // 60),),
        )
        relay = await self.fetch(
            "SELECT line, stream, position, rows, updated FROM relay_positions"
            " ORDER BY line, stream"
        )
        lines: dict[str, dict[str, Any]] = {}

        def line(name: str) -> dict[str, Any]:
            return lines.setdefault(
                name,
                {"states": {}, "terminal": 0, "last_hour": 0, "relay": {}, "relay_age_s": None},
            )

        for row in by_state:
            entry = line(row["line"])
            entry["states"][row["state"]] = row["n"]
            if row["state"] in TERMINAL:
                entry["terminal"] += row["n"]
        for row in hour:
            line(row["line"])["last_hour"] = row["n"]
        for row in relay:
            entry = line(row["line"])
            age = max(0.0, now - row["updated"])
            entry["relay"][row["stream"]] = {
                "position": row["position"],
                "rows": row["rows"],
                "age_s": round(age, 3),
            }
            if entry["relay_age_s"] is None or age < entry["relay_age_s"]:
                entry["relay_age_s"] = round(age, 3)
        site: dict[str, Any] = {"states": {}, "terminal": 0, "last_hour": 0}
        for entry in lines.values():
            for state, n in entry["states"].items():
                site["states"][state] = site["states"].get(state, 0) + n
            site["terminal"] += entry["terminal"]
            site["last_hour"] += entry["last_hour"]
        return {"time": now, "lines": lines, "site": site}

    async def trucks(self, truck: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Trucks' loading summaries across lines, newest first (only ``truck`` if given)."""
        if truck is not None:
            return await self.fetch(
                "SELECT line, sequence, truck, time, summary FROM trucks WHERE truck = %s"
                " ORDER BY time DESC LIMIT %s",
                (truck, limit),
            )
        return await self.fetch(
            "SELECT line, sequence, truck, time, summary FROM trucks ORDER BY time DESC LIMIT %s",
            (limit,),
        )

    async def known_lines(self) -> list[dict[str, Any]]:
        """The lines that relayed anything (``site_lines``): when first and last seen."""
        return await self.fetch(
            "SELECT line, site, hmi_url, api_url, first_seen, last_seen FROM site_lines"
            " ORDER BY line"
        )


def short_error(err: BaseException) -> str:
    """A database error on one line, at most 300 characters."""
    text = " ".join(str(err).split())
    return text[:300] or type(err).__name__
