"""Local development stack and demo (dev tooling; never shipped in a function package)."""
