"""cpcm: child-protection case management with encrypted casefiles in git."""

__version__ = "0.2.0"
