"""``python -m optlib.exercises``: list every exercise with its signature."""

from . import catalogue

print(catalogue())
