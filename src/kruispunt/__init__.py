"""kruispunt: an open social-security crossroads bank.

Rooms (one folder per pillar, see docs/architecture.md): ``identity`` (INSZ/KBO numbers, person register,
municipalities), ``statuses`` (the GSS buffer of harmonised social statuses), ``rights`` (derived rights),
``impact`` (simulation and non-take-up), ``network`` (exchange hub), ``warehouse`` (statistics),
``synth`` (synthetic Belgium) and ``store`` (database engine and migrations).
"""

__version__ = "0.1.0"
