"""Tests of the container label composer and the print spooler."""
