"""The seeded program simulation behind `rems demo`, benchmarks and tests."""
