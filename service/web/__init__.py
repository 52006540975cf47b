"""The server-rendered web frontend for chain lead departments (SPEC §8)."""
