"""Tests of the label printer drivers."""
