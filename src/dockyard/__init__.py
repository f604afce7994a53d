"""Dockyard: Docker Engine, microservices and PostgreSQL replication on bare servers."""

__version__ = "0.1.0"
