"""Leaf declarations shared by the runtime, the SLO math and the generators; imports nothing from this project."""
