"""Pure answer maths (ghostguard.answers) that no scenario pins on its own."""

from __future__ import annotations

from ghostguard.answers import is_booked_stop_fill


STOP = ("sell", 0.02, 45999.8)  # a long's stop as Freqtrade booked it (under the algo id)


def _listed(side: str = "sell", filled: float = 0.02, average: float | None = 45999.8) -> dict:
    return {"id": "1020017", "side": side, "filled": filled, "average": average,
            "status": "closed", "clientOrderId": "x-1020017"}


def test_the_order_a_booked_stop_placed_is_recognised_by_side_fill_and_price() -> None:
    assert is_booked_stop_fill(_listed(), [STOP])


def test_any_other_order_is_not_a_booked_stop_fill() -> None:
    assert not is_booked_stop_fill(_listed(side="buy"), [STOP])
    assert not is_booked_stop_fill(_listed(filled=0.01), [STOP])  # a hand-placed part
    assert not is_booked_stop_fill(_listed(average=46010.0), [STOP])
    assert not is_booked_stop_fill(_listed(filled=0.0), [STOP])  # nothing filled
    assert not is_booked_stop_fill(_listed(average=None), [STOP])
    assert not is_booked_stop_fill(_listed(), [])
    assert not is_booked_stop_fill(_listed(), [("sell", 0.02, None)])
