"""The domain: identifiers, records, the folded case, form definitions.

Pure values and functions. Must not import anything that touches files, git, age, Typer or
ruamel; takes `now` as an argument where time matters.
"""
