"""Intake's outbound clients: the attachments' storage backends (the 12345 platform's client is in ``hotline/``)."""
