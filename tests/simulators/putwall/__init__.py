"""Tests of the simulated put-wall operators, dock loaders and check scales."""
