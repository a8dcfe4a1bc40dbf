"""Session workers, commands, event fan-out and failover on NATS JetStream."""

__version__ = "0.1.0"
