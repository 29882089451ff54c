"""Routing domain: pure logic (org tree, locating, assignment state machine). No I/O."""
