"""The rule engine: plain functions from (patient state, request, time, rule set) to unmet rules."""
