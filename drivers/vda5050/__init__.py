"""VDA 5050 over MQTT: the master's link to a fleet of vehicles (:mod:`.fleet_link`)."""
