"""Beam transforms of the news pipeline, one module per role, with the pure functions under them."""
