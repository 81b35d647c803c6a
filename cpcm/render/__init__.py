"""Rendering: documents and files made from plain view models (no domain objects, no I/O
beyond reading templates)."""
