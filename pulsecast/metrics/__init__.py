"""Reading the warehouse: published snapshots of the marts and the typed read API over them."""
