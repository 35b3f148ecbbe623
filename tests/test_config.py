"""Config validation: a wrong key or value stops start-up with the key named."""

from __future__ import annotations

import pytest
from freqtrade.exceptions import ConfigurationError

from ghostguard.config import GuardSettings, parse_guard_config


def test_defaults_match_the_spec() -> None:
    config = parse_guard_config(None)
    assert config.default == GuardSettings(
        enabled=True,
        auto_replace_cancelled_orders=True,
        max_replacements_per_signal=3,
        replacement_cooldown_s=1.0,
        circuit_breaker_threshold=3,
        position_check="single",
        watchlist_minutes=30.0,
        notify=False,
    )


def test_pair_overrides_and_strategy_defaults() -> None:
    config = parse_guard_config(
        {
            "replacement_cooldown_s": 2,
            "pairs": {"ETH/USDT:USDT": {"max_replacements_per_signal": 1}},
        },
        defaults={"max_replacements_per_signal": 5, "replacement_cooldown_s": 9},
    )
    assert config.default.max_replacements_per_signal == 5
    assert config.default.replacement_cooldown_s == 2.0
    eth = config.for_pair("ETH/USDT:USDT")
    assert eth.max_replacements_per_signal == 1 and eth.replacement_cooldown_s == 2.0
    assert config.for_pair("BTC/USDT:USDT") is config.default


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"replacement_cooldown_s": -1}, "ghost_guard.replacement_cooldown_s"),
        ({"circuit_breaker_threshold": 0}, "ghost_guard.circuit_breaker_threshold"),
        ({"max_replacements_per_signal": 1.5}, "ghost_guard.max_replacements_per_signal"),
        ({"enabled": "yes"}, "ghost_guard.enabled"),
        ({"position_check": "triple"}, "ghost_guard.position_check"),
        ({"watchlist_minutes": float("nan")}, "ghost_guard.watchlist_minutes"),
        ({"max_replacment_per_signal": 3}, "ghost_guard.max_replacment_per_signal"),
        ({"pairs": {"BTC/USDT:USDT": {"notify": 1}}}, "ghost_guard.pairs.BTC/USDT:USDT.notify"),
        ({"pairs": []}, "ghost_guard.pairs"),
    ],
)
def test_bad_values_name_the_key(section: dict, named: str) -> None:
    with pytest.raises(ConfigurationError, match="Allowed") as error:
        parse_guard_config(section)
    assert named in str(error.value)


def test_section_must_be_an_object() -> None:
    with pytest.raises(ConfigurationError, match="ghost_guard"):
        parse_guard_config([1, 2])


@pytest.mark.parametrize(
    ("section", "named", "suggested"),
    [
        ({"max_replacement_per_signal": 2}, "ghost_guard.max_replacement_per_signal",
         "max_replacements_per_signal"),
        ({"pairs": {"BTC/USDT:USDT": {"lock_hour": 1}}},
         "ghost_guard.pairs.BTC/USDT:USDT.lock_hour", "lock_hours"),
        ({"pair": {}}, "ghost_guard.pair", "pairs"),
    ],
)
def test_a_misspelled_key_is_named_with_the_key_it_resembles(section, named, suggested) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_guard_config(section)
    assert f"unknown key '{named}'. Did you mean '{suggested}'?" in str(raised.value)


def test_an_unknown_key_like_no_other_gets_no_guess() -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_guard_config({"zzz": 1})
    assert "Did you mean" not in str(raised.value) and "Allowed keys:" in str(raised.value)
