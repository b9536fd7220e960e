"""Keyboard-driven terminal admin for server-side mail synchronization."""
__version__ = "0.1.0"
