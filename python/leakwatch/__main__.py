"""python3 -m leakwatch (with this package's directory on sys.path)."""
from .cli import entry

entry()
