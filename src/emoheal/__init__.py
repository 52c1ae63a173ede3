"""EmoHeal: words → emotions → a three-stage therapeutic music session."""

__version__ = "0.1.0"
