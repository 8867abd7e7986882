"""Two tiny functions for the knowledge-web fixture."""


def double(x):
    """Return ``2 * x``."""
    return 2 * x


def triple(x):
    """Return ``3 * x``."""
    return 3 * x
