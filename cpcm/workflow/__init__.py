"""The workflow: folding records into a case, the rules of the guidelines.

Pure: no files, git, age, Typer or ruamel. Every function that needs the time takes `now`.
"""
