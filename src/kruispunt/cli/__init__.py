"""The ``kruispunt`` command: a thin shell over the rooms' service APIs."""

from __future__ import annotations

import typer

from kruispunt.cli.db import db_app
from kruispunt.cli.demo import demo
from kruispunt.cli.feeds import batch_app, mutations_app, subscription_app
from kruispunt.cli.identity import id_app, register_app
from kruispunt.cli.impact import simulate_app
from kruispunt.cli.network import audit_app, deliberation_app, directory_app, partner_app, serve
from kruispunt.cli.rights import rights_app
from kruispunt.cli.soap import soap_app
from kruispunt.cli.statuses import statuses_app
from kruispunt.cli.synth import synth_command
from kruispunt.cli.warehouse import dwh_app
from kruispunt.cli.web import web_app

app = typer.Typer(
    help="kruispunt: an open social-security crossroads bank.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(id_app, name="id")
app.add_typer(register_app, name="register")
app.add_typer(db_app, name="db")
app.add_typer(statuses_app, name="statuses")
app.add_typer(rights_app, name="rights")
app.add_typer(simulate_app, name="simulate")
app.add_typer(dwh_app, name="dwh")
app.add_typer(web_app, name="web")
app.add_typer(partner_app, name="partner")
app.add_typer(deliberation_app, name="deliberation")
app.add_typer(directory_app, name="directory")
app.add_typer(audit_app, name="audit")
app.add_typer(soap_app, name="soap")
app.add_typer(mutations_app, name="mutations")
app.add_typer(subscription_app, name="subscription")
app.add_typer(batch_app, name="batch")
app.command("serve")(serve)
app.command("demo")(demo)
app.command("synth")(synth_command)


def main() -> None:
    app()
