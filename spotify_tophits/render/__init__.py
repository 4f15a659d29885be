"""Turn action results into what a person reads: Rich tables on a terminal, plain lines otherwise.

No Typer here: the CLI decides exit codes. Rich is imported only when a terminal shows a table,
so `--json`, `--check` and pipes never pay for it. One module per group of commands.
"""

from spotify_tophits.render.backup import backup_list, backup_result, pruned, restore_plan, restore_result, verified
from spotify_tophits.render.operations import (
    auth_result,
    auth_status,
    authorise_prompt,
    deliveries,
    done,
    install_plan,
)
from spotify_tophits.render.show import show_table, show_view
from spotify_tophits.render.status import (
    all_status,
    doctor_json,
    doctor_report,
    profiles_list,
    status_json,
    status_report,
)
from spotify_tophits.render.update import demo_progress, demo_result, update_result

__all__ = [
    "all_status",
    "auth_result",
    "auth_status",
    "authorise_prompt",
    "backup_list",
    "backup_result",
    "deliveries",
    "demo_progress",
    "demo_result",
    "doctor_json",
    "doctor_report",
    "done",
    "install_plan",
    "profiles_list",
    "pruned",
    "restore_plan",
    "restore_result",
    "show_table",
    "show_view",
    "status_json",
    "status_report",
    "update_result",
    "verified",
]
