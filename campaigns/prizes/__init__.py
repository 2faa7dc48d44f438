"""Prize draws: prize tables, their fair and auditable draws, and the public verifier."""
