"""`pcnsim app`: the live workshop page (Streamlit) started on a free port."""
from __future__ import annotations

import sys

import click

from pcnsim.cli.terminal import friendly_errors


@click.command("app")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on [default: a free one].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 shares the page with a room (no password: only on a "
                   "network you trust).")
@click.option("--outputs", type=click.Path(file_okay=False), default="outputs", show_default=True,
              help="Where the page's runs go (as `pcnsim run`'s, and found again there).")
@click.option("--horizon-weeks", type=click.IntRange(min=2), help="The quick run's horizon [default: 156, as the reports'].")
@click.option("--warmup-weeks", type=click.IntRange(min=0), help="The quick run's warm-up [default: 52, as the reports'].")
@click.option("--replications", type=click.IntRange(min=2), help="The quick run's replications [default: 10].")
@friendly_errors
def app_cmd(port, host, outputs, horizon_weeks, warmup_weeks, replications) -> None:
    """Start the live workshop page (Streamlit) and print its address; Ctrl-C stops it.

    Pick a bundled scenario or workshop step, move the levers, press Run: the model reruns in
    seconds and the page gives the answer against the starting scenario in the report's words,
    with the CD's week, delivery and retention figures. Needs `pip install "pcnsim[app]"`.
    """
    import importlib.util
    import os
    import socket
    from pathlib import Path

    from pcnsim.errors import ScenarioError

    if importlib.util.find_spec("streamlit") is None:
        raise ScenarioError("pcnsim app needs Streamlit, an optional dependency: install it with "
                            "pip install \"pcnsim[app]\" (or pip install -e \".[app]\" in the repository).")
    from pcnsim.app.logic import REPORT_HORIZON_WEEKS, REPORT_WARMUP_WEEKS

    horizon = horizon_weeks or REPORT_HORIZON_WEEKS
    warmup = warmup_weeks if warmup_weeks is not None else min(REPORT_WARMUP_WEEKS, horizon // 3)
    if warmup >= horizon:
        raise ScenarioError(f"--warmup-weeks {warmup} must be less than the quick run's horizon "
                            f"({horizon} weeks, --horizon-weeks).")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, port or 0))
            port = probe.getsockname()[1]
    except OSError as err:
        what = f"port {port}" if port else "a free port"
        raise ScenarioError(f"--host {host}: cannot listen on {what} ({err.strerror or err}); leave out --port "
                            "for a free one, or give an address of this machine (127.0.0.1, or 0.0.0.0 for "
                            "every network).") from None
    env = dict(os.environ, PCNSIM_APP_OUTPUTS=str(Path(outputs).resolve()),
               PCNSIM_APP_HORIZON_WEEKS=str(horizon), PCNSIM_APP_WARMUP_WEEKS=str(warmup))
    if replications:
        env["PCNSIM_APP_REPLICATIONS"] = str(replications)
    from pcnsim.app import PAGE

    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    click.echo(f"pcnsim app: open http://{shown}:{port}/ in a browser (runs go to {Path(outputs)}; "
               "Ctrl-C stops the page).")
    sys.stdout.flush()
    sys.stderr.flush()
    args = [sys.executable, "-m", "streamlit", "run", str(PAGE), f"--server.port={port}",
            f"--server.address={host}", "--server.headless=true", "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none", "--server.runOnSave=false", "--global.developmentMode=false",
            "--client.toolbarMode=viewer", "--theme.base=light"]
    os.execve(sys.executable, args, env)   # the page's server replaces this process: one process to stop
