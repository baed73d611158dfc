"""Synthetic Belgium: a reproducible population, its households and its social statuses, at any scale.

Public API:

- :func:`generate` writes ``register.<fmt>`` (the register feed contract, ``identity.REGISTER_COLUMNS``),
  ``statuses.<fmt>`` (``insz, status, start_date, end_date, source``) and ``manifest.json``, and returns
  the :class:`Manifest`;
- :func:`municipal_populations` gives the population figure used for each of the 565 municipalities;
- :func:`persons_per_municipality` says how many persons a run would place in each municipality;
- :mod:`kruispunt.synth.targets` holds the public figures the generator is calibrated on (age pyramid,
  household sizes, prevalences) with their tolerances;
- :class:`SynthError` is raised for arguments that cannot be honoured.
"""

from kruispunt.synth.generator import STATUS_COLUMNS, Manifest, generate
from kruispunt.synth.output import FORMATS
from kruispunt.synth.populations import SynthError, municipal_populations, persons_per_municipality
from kruispunt.synth.targets import DEFAULT_AS_OF, HISTORY_START, PREVALENCES

__all__ = [
    "DEFAULT_AS_OF",
    "FORMATS",
    "HISTORY_START",
    "PREVALENCES",
    "STATUS_COLUMNS",
    "Manifest",
    "SynthError",
    "generate",
    "municipal_populations",
    "persons_per_municipality",
]
