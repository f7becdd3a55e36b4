import pytest
from pydantic import ValidationError

from plc_configs.site_link import SiteLinkSection, SitePostgresSection
from tests.controller.line.helpers import line_config


def test_the_postgres_url_has_user_host_port_and_database_but_never_a_password():
    pg = SitePostgresSection(url="postgresql://lanesort@10.0.0.5:5433/site", password_env="PW")
    assert (pg.user, pg.host, pg.port, pg.database) == ("lanesort", "10.0.0.5", 5433, "site")
    with pytest.raises(ValidationError, match="password must not be in the url"):
        SitePostgresSection(url="postgresql://lanesort:secret@10.0.0.5:5433/site")
    with pytest.raises(ValidationError, match="expected user, host and port"):
        SitePostgresSection(url="postgresql://10.0.0.5/site")
    with pytest.raises(ValidationError, match="one database name"):
        SitePostgresSection(url="postgresql://u@10.0.0.5:5432/")


def test_site_names_and_event_types_are_checked():
    with pytest.raises(ValidationError, match="MQTT topic level"):
        SiteLinkSection(site="hub/1")
    with pytest.raises(ValidationError, match=r"unknown event types \['parcel.teleported'\]"):
        SiteLinkSection(site="hub", event_types=["parcel.teleported"])


def test_site_event_types_must_be_in_the_outbox():
    data = line_config().model_dump(mode="python")
    data["upstream"]["events"] = ["parcel.sorted"]
    data["site"] = {"site": "hub", "mqtt": {"url": "mqtt://127.0.0.1:1883"}}
    with pytest.raises(ValidationError, match=r"site.event_types: \['container.closed'"):
        type(line_config()).model_validate(data)
    data["site"]["event_types"] = ["parcel.sorted"]
    assert type(line_config()).model_validate(data).site.event_types == ["parcel.sorted"]
