"""The campaign outlook (`decide` flow): scenarios, risks, market and benchmark position, insights.

Prefect-free: each module reads what it needs from a DuckDB connection (the warehouse's marts and `ml.*`
tables) into pandas and returns plain frames or `Finding`s, so it is tested without Prefect.
"""
