"""Adapters between the core and the outside world: storage, jobs, HTTP."""
