"""Tests of the servers deploy/ starts, really running: granian (deploy/granian_server.py)."""
