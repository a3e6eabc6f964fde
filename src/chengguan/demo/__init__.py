"""The demo city: synthetic but plausible boundaries, organisation and people."""
