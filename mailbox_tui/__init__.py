"""Keyboard-driven terminal admin for server-side mail synchronization."""
__version__ = "0.1.0"

import logging as _logging

# A library stays quiet unless the program configures logging (the CLI does, to a file).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())
