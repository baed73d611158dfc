"""The demo's steps, in order. Each room adds its step here (one line) and writes it in its own module."""

from __future__ import annotations

from kruispunt.cli.demo import DemoStep
from kruispunt.cli.feeds import demo_feeds
from kruispunt.cli.identity import demo_identity
from kruispunt.cli.impact import demo_impact
from kruispunt.cli.network import demo_network
from kruispunt.cli.rights import demo_rights
from kruispunt.cli.soap import demo_soap
from kruispunt.cli.statuses import demo_statuses
from kruispunt.cli.synth import demo_synth
from kruispunt.cli.warehouse import demo_warehouse
from kruispunt.cli.web import demo_web

STEPS: list[tuple[str, DemoStep]] = [
    ("1. Synthetic Belgium: Huy, Saint-Georges-sur-Meuse and Herstal", demo_synth),
    ("2. Identity numbers and the person register", demo_identity),
    ("3. GSS buffer: harmonised social statuses", demo_statuses),
    ("4. Exchange hub: partners, deliberations, consultations, audit chain", demo_network),
    ("5. SOAP connector: ManageAccess and IdentifyPerson as OCMW software sends them", demo_soap),
    ("6. Derived rights: evaluate, grant, accounting file", demo_rights),
    ("7. Mutation feeds: a status change reaches a subscribed partner and a granted right", demo_feeds),
    ("8. Impact: simulation reports for Huy, Saint-Georges-sur-Meuse and Herstal", demo_impact),
    ("9. Statistical warehouse: pseudonymised facts and a protected table", demo_warehouse),
    ("10. Web pages: demo accounts for the simulated sign-in", demo_web),
]
