"""Benchmarks of pyftorch (see bench/README.md)."""
