"""perfgate's demo service: records over SQLite behind a cache, plus known misbehaviour.

Run it with ``python -m demo_app --port 8000``; ``perfgate demo`` starts it from the targets
file shipped in this package (``demo_app/targets.yml``).
"""

__version__ = "0.1.0"
