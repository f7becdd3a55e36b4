"""The LaneSort controller: config, parcel state, decisions, journal, line state, CLI."""
