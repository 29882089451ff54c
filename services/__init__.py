"""The stack runner: embedded infrastructure, migrations, the four services, dev tokens."""
