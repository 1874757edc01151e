"""Unit economics from the catalog: campus quotes and what the deals imply."""
