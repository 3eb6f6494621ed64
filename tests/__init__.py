"""pcnsim's tests: a package, so that test modules import their helpers as `tests.fake_runs`."""
