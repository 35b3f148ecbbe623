"""Randomized fault campaign (issue 4): seeded fault schedules against a real FreqtradeBot on
the simulated exchange, with and without GhostGuard. Run `python -m tests.chaos --help`."""
