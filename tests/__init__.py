"""Tests: one file per unit, plus end-to-end tests."""
