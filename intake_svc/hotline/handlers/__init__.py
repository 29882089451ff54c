"""The 12345 adapter's handlers: signed requests and inbound orders (``orders``), the callbacks owed on case
events and staff replies (``callbacks``), the platform's messages (``messages``), reconciliation. None commits."""
