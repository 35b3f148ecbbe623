"""Strategies nobody on this project wrote, produced at test time from the installed Freqtrade,
and the candle data the backtest equality test runs them on."""
