"""Tests of the connectome package."""
