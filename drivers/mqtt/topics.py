"""MQTT topic filters (MQTT 3.1.1 section 4.7): ``+`` is one whole level, ``#`` the rest.

A filter starting with a wildcard does not match a topic starting with ``$`` (``$SYS/…``
is seen only by a filter that names it).
"""

from __future__ import annotations


def check_filter(topic_filter: str) -> str:
    """``topic_filter`` if it is a valid filter, else ValueError saying why."""
    if not topic_filter:
        raise ValueError("a topic filter cannot be empty")
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise ValueError(f"{topic_filter!r}: '#' must be a whole level, and the last one")
        if "+" in level and level != "+":
            raise ValueError(f"{topic_filter!r}: '+' must be a whole level")
    return topic_filter


def check_topic(topic: str) -> str:
    """``topic`` if it can be published to (no wildcards), else ValueError."""
    if not topic or "+" in topic or "#" in topic:
        raise ValueError(f"{topic!r}: a topic to publish to has no wildcards and is not empty")
    return topic


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True when ``topic`` (no wildcards) matches ``topic_filter``."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    want = topic_filter.split("/")
    have = topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True  # also matches the parent level: "a/#" matches "a"
        if i >= len(have) or (level != "+" and level != have[i]):
            return False
    return len(want) == len(have)
