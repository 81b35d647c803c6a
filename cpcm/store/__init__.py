"""The store: records as age-encrypted YAML files in a git repository.

Writes are atomic and serialised by a lock; every mutating command is one commit. Must not
import the CLI; plaintext never reaches disk from here.
"""
