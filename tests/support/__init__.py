"""What the tests share to run real things: daemons started and stopped one way (daemons.py),
one free loopback port (ports.py), and one rule for a tool that is not installed (tools.py)."""
