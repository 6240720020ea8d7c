"""A free local TCP port, for the servers the tests and tools start (metrics, receivers)."""
import socket


def free_port():
    """A port nothing listens on now (the caller binds it soon after)."""
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]
