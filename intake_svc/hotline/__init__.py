"""The 12345 hotline adapter: signed inbound work orders, platform messages, and status callbacks sent through
an outbox (see ``handlers``, ``sender``, ``mapping`` and ``api``)."""
