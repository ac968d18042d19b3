"""``python -m loopml.demo`` (``make demo``): the demand-shock story, end to end.

Per-segment demand models are trained and served over HTTP; a sudden regime
change hits some segments; the loop detects it, retrains only those segments,
promotes better challengers and recovers accuracy. The numbers are printed at
the end. It runs on an embedded store of its own, ``<LOOPML_HOME>/demo``
(``~/.loopml/demo`` by default), emptied at the start of every run, so the
story is told from the beginning each time and nothing else is touched; the
CLI can look at everything afterwards.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import time

from loopml.cli.output import console
from loopml.config import Settings
from loopml.demo.scenario import Plan, how_to_sign_in, run, tell, where_to_look


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m loopml.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--keep-serving", action="store_true", help="Leave the server up at the end."
    )
    parser.add_argument(
        "--day-seconds", type=float, default=1.0, help="Real seconds per simulated day."
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(message)s")

    plan = Plan(day_seconds=args.day_seconds)
    settings = demo_settings(Settings())
    console.rule("[bold]loopml demo: a demand shock, and the loop that recovers from it")
    began = time.monotonic()
    story = run(plan, settings, say=console.print, keep_serving=args.keep_serving)
    tell(story, plan, console.print)
    console.print(f"\nThe whole story took {time.monotonic() - began:.0f} s.")
    where_to_look(story, settings.home_path, console.print, serving=args.keep_serving)
    how_to_sign_in(story, settings.home_path, console.print, serving=args.keep_serving)
    if args.keep_serving:
        console.print("\nServing until Ctrl-C …")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            story.stop()


def demo_settings(settings: Settings) -> Settings:
    """The demo's own embedded store, empty: a second run must not meet the first's champions."""
    home = settings.home_path / "demo"
    shutil.rmtree(home, ignore_errors=True)
    return settings.model_copy(update={"home": home, "store_url": None, "artifact_uri": None})


if __name__ == "__main__":
    main()
