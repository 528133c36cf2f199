"""Dagster definitions of the product, one module per concern."""
