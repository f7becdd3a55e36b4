from controller.containers.fill import ChuteFill


def test_parcels_count_until_the_full_sensor_clears():
    fill = ChuteFill()
    for _ in range(3):
        fill.on_landed(4)
    fill.on_landed(5)
    fill.on_full(frozenset({4}))
    fill.on_landed(4)
    assert fill.counts() == {4: 4, 5: 1}
    fill.on_full(frozenset())  # container of chute 4 swapped
    assert fill.counts() == {4: 0, 5: 1}
    fill.on_landed(4)
    assert fill.counts()[4] == 1
