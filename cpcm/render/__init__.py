"""Rendering: documents and files made from plain view models (no domain objects, no I/O
beyond reading templates).

- `env`: the sandboxed, strict Jinja environment, template lookup and the date filters.
- `views`: pure functions building the view models (plain dicts) for each document.
- `ics`: the iCalendar export of due items.

Must not import: service, store, crypto, cli.
"""
