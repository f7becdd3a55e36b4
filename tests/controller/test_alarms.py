from controller.alarms import AlarmBoard, Severity


def test_raise_counts_repeats_and_records_changes():
    records = []
    board = AlarmBoard(records.append)
    board.raise_("link:plc", "down", 1.0, device="plc", severity=Severity.CRITICAL)
    again = board.raise_("link:plc", "still down", 2.0, device="plc")
    assert again.count == 2 and again.text == "still down" and again.since == 1.0
    assert [r.state for r in records] == ["raised"]
    board.clear("link:plc", 3.0)
    assert not board.is_active("link:plc")
    assert [r.state for r in records] == ["raised", "cleared"]
    board.clear("link:plc", 4.0)
    assert len(records) == 2
