"""Open data: every published revision of a round as files anybody may download (README, "Open data")."""
