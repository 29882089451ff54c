"""The Kafka bus: transactional outbox + relay, idempotent consumer with inbox and DLQ, topic admin."""
