"""The site service's parts, composed from a site config: store, distributor, watcher, auth."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from controller.auth import TokenStore, UserStore, in_data_dir
from controller.site.service.assign import RouteAssigner
from controller.site.service.distribute import Distributor
from controller.site.service.errors import SiteStoreUnavailable
from controller.site.service.pending import PENDING_FILE, PendingParts
from controller.site.service.retention import StoreRetention
from controller.site.service.store import SiteStore
from controller.site.service.watch import LineWatcher
from drivers.cancelling import start_guarded
from plc_configs.site import SiteConfig

log = logging.getLogger("lanesort.site")


def site_tokens(config: SiteConfig, data_dir: Path | None = None) -> TokenStore:
    """The site's own API token store (``auth.tokens_path`` in ``site.data_dir``)."""
    return TokenStore(in_data_dir(data_dir or Path(config.site.data_dir), config.auth.tokens_path))


def site_users(config: SiteConfig, data_dir: Path | None = None) -> UserStore:
    """The site's own HMI users (``auth.users_path`` in ``site.data_dir``)."""
    path = in_data_dir(data_dir or Path(config.site.data_dir), config.auth.users_path)
    return UserStore(path, max_attempts=config.auth.login_attempts)


@dataclass
class Site:
    """Everything the site's API, HMI and metrics read."""

    config: SiteConfig
    store: SiteStore
    distributor: Distributor
    watcher: LineWatcher
    tokens: TokenStore
    users: UserStore
    assigner: RouteAssigner = field(init=False)
    url: str | None = None
    """Where the site is served (``http://host:port``), once it is."""
    https: bool = False
    """Served over HTTPS (the session cookie is then Secure)."""
    data_dir: Path = Path("site-data")
    """The site's files: tokens, users, the self-signed TLS pair."""
    retention: StoreRetention | None = None
    """Deletes the store's old rows (None: ``postgres.retention_days`` is null)."""

    def __post_init__(self) -> None:
        self.assigner = RouteAssigner(self.config.routes)

    @classmethod
    def from_config(
        cls,
        config: SiteConfig,
        env: Mapping[str, str] | None = None,
        data_dir: Path | None = None,
        retry_s: float = 30.0,
    ) -> Site:
        """The site of ``config``; passwords and tokens come from ``env`` (default: the
        process environment)."""
        env = dict(os.environ if env is None else env)
        pg = config.postgres
        password = env.get(pg.password_env) if pg.password_env else None
        folder = data_dir or Path(config.site.data_dir)
        kept = PendingParts(in_data_dir(folder, PENDING_FILE))
        distributor = Distributor(config.lines, env, retry_s=retry_s, kept=kept)
        tokens = {name: distributor.token(name) for name in config.lines}
        return cls(
            config=config,
            store=SiteStore(pg.url, password, pg.connect_timeout_s),
            distributor=distributor,
            watcher=LineWatcher(config.lines, tokens, config.hmi.poll_s),
            tokens=site_tokens(config, data_dir),
            users=site_users(config, data_dir),
            data_dir=folder,
            retention=(
                StoreRetention(
                    pg.url,
                    password,
                    pg.retention_days,
                    every_s=pg.purge_every_h * 3600,
                    connect_timeout_s=pg.connect_timeout_s,
                )
                if pg.retention_days is not None
                else None
            ),
        )

    async def run(self) -> None:
        """Prepare the store's schema, watch the lines, retry pending parts and keep the
        retention until cancelled; then close clients."""
        try:
            await self.store.prepare_schema()
        except SiteStoreUnavailable as err:  # the lines' relays make it when they connect
            log.warning("%s; the lines' relays create it when they connect", err)
        try:
            async with asyncio.TaskGroup() as group:
                start_guarded(group, self.watcher.run(), "site-watch")
                start_guarded(group, self.distributor.run(), "site-retry")
                if self.retention is not None:
                    start_guarded(group, self.retention.run(), "site-retention")
        finally:
            with contextlib.suppress(Exception):
                await self.watcher.close()
            with contextlib.suppress(Exception):
                await self.distributor.close()
            if self.distributor.kept is not None:
                self.distributor.kept.close()
            with contextlib.suppress(Exception):
                await self.store.close()
