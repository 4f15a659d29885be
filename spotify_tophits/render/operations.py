"""Output of `auth`, `notify` and `systemd install`: the commands that set tophits up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotify_tophits.render.output import echo

if TYPE_CHECKING:
    from spotify_tophits.actions.auth import AuthResult, AuthStatus
    from spotify_tophits.ops.notify import Delivery
    from spotify_tophits.ops.units import InstallPlan


def authorise_prompt(url: str, listening: bool) -> None:
    echo("Open this URL in a browser (on any machine) and approve tophits:")
    echo(f"\n  {url}\n")
    if listening:
        echo("Waiting for the browser to come back here. If it ends on a page that does not load")
        echo("(the browser runs on another machine), paste that page's full address below.")
    else:
        echo("Then paste the full address of the page the browser ends on (it may not load) below.")


def auth_result(result: AuthResult) -> None:
    who = result.display_name or result.user_id
    echo(f"Authorised as {who} ({result.user_id}).")
    renew_by = f"{result.expires_at:%Y-%m-%d}"
    echo(f"Spotify refresh tokens die 6 months after authorisation: run `tophits auth` again before {renew_by}.")


def auth_status(status: AuthStatus) -> None:
    if not status.present:
        echo(f"Not authorised: no token at {status.token_file}. Run `tophits auth`.")
        return
    who = status.display_name or status.user_id or "unknown user"
    echo(f"Authorised as {who} ({status.user_id})")
    echo(f"  token file: {status.token_file}")
    if status.authorized_at and status.age_seconds is not None:
        from spotify_tophits.clock import describe_duration

        age = describe_duration(status.age_seconds)
        echo(f"  authorised: {status.authorized_at:%Y-%m-%d %H:%M} UTC ({age} ago)")
    if status.expires_at is not None and status.days_left is not None:
        echo(f"  refresh token expires: {status.expires_at:%Y-%m-%d} ({status.days_left} days left)")
    echo(f"  scopes: {' '.join(status.scopes) or '-'}")
    if status.missing_scopes:
        echo(f"  missing scopes: {' '.join(status.missing_scopes)}; run `tophits auth`")
    elif status.expired:
        echo("  the refresh token has expired; run `tophits auth`")


def deliveries(items: list[Delivery]) -> None:
    for delivery in items:
        for label in delivery.sent:
            echo(f"sent to {label}")
        for reason in delivery.failed:
            echo(f"NOT sent: {reason}")
        if not delivery.sent and not delivery.failed:
            echo("no channel takes this severity")


def install_plan(plan: InstallPlan) -> None:
    for path, text in plan.files:
        if text:
            echo(f"# --- {path}")
            echo(text)
        else:
            echo(f"would remove {path}")
    echo("# --- commands")
    for command in plan.commands:
        echo(" ".join(command))


def done(lines: list[str]) -> None:
    for line in lines:
        echo(line)
