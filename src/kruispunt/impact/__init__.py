"""Impact room: what an automatic right would reach and cost, its variants, non-take-up, reports, outreach.

Public API (what the CLI, the web pages and the tests use):

- simulation: :func:`simulate` -> :class:`Simulation` (``.as_dict()`` holds every figure),
  :func:`simulate_frames` (the pure part, over :class:`Frames` given directly), :class:`Variant`
  (``Variant.parse("NAME:key=value")``),
  :class:`StaffTime` (minutes per manual file, hours per FTE), :func:`read_current` (the ``--current`` file);
- reports: :func:`write_report` (``.html`` or ``.pdf``, chosen by the file name);
- outreach: :func:`outreach` -> :class:`OutreachList`, :func:`outreach_candidates` (pure),
  :data:`OUTREACH_PURPOSE`, :data:`INDICATORS`;
- errors: :class:`SimulationError`, :class:`VariantError`, :class:`OutreachRefused`.
"""

from kruispunt.impact.current import CurrentFile, read_current
from kruispunt.impact.frames import Frames
from kruispunt.impact.outcome import Outcome
from kruispunt.impact.outreach import (
    INDICATORS,
    OUTREACH_PURPOSE,
    Indicator,
    OutreachList,
    OutreachRefused,
    outreach,
)
from kruispunt.impact.outreach import candidates as outreach_candidates
from kruispunt.impact.report import write_report
from kruispunt.impact.simulation import Simulation, SimulationError, simulate, simulate_frames
from kruispunt.impact.takeup import DEFAULT_HOURS_PER_FTE, DEFAULT_MINUTES_PER_FILE, StaffTime
from kruispunt.impact.variants import Variant, VariantError

__all__ = [
    "DEFAULT_HOURS_PER_FTE",
    "DEFAULT_MINUTES_PER_FILE",
    "INDICATORS",
    "OUTREACH_PURPOSE",
    "CurrentFile",
    "Frames",
    "Indicator",
    "Outcome",
    "OutreachList",
    "OutreachRefused",
    "Simulation",
    "SimulationError",
    "StaffTime",
    "Variant",
    "VariantError",
    "outreach",
    "outreach_candidates",
    "read_current",
    "simulate",
    "simulate_frames",
    "write_report",
]
