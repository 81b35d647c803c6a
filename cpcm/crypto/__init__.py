"""age encryption through pyrage: identities, recipients, encrypting and decrypting bytes.

Must not import the store, the workflow or the CLI. Plaintext handled here stays in memory.
"""
