"""`make chaos`: a bounded soak of the whole stack under faults, checked against its own ledger (see __main__)."""
