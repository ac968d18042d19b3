"""A hand-logged run's CPU seconds are its fit's: not the imports and registering that
loopml does inside it, so the first version logged in a process is not the dearest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml

# Each run fits one gradient boosting model of scikit-learn's diabetes data, in a process
# that has imported nothing of loopml's registry, datasets or model formats yet.
SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import loopml
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    data = X.assign(progression=y)
    loopml.configure(home=sys.argv[1])
    runs = []
    for i in range(2):
        with loopml.start_run(experiment="diabetes") as run:
            began = time.thread_time()
            model = GradientBoostingRegressor(n_estimators=150, random_state=0).fit(X, y)
            fit = time.thread_time() - began
            loopml.log_dataset(data, f"diabetes-{i}")
            version = loopml.log_model(model, "progression", input_example=X.head())
        runs.append({"fit": fit, "run": loopml.get_run(run.id).cpu_seconds})
    alone = loopml.log_model(model, "progression")  # no run open: the fit was not seen
    runs.append({"fit": 0.0, "run": loopml.get_run(alone.run_id).cpu_seconds})
    print(json.dumps(runs))
    """
)


def _runs(home: Path) -> list[dict[str, float]]:
    source = str(Path(loopml.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.getcwd()])}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(home)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_first_version_logged_in_a_process_costs_its_fit_not_the_imports(tmp_path):
    first, second, alone = _runs(tmp_path / "home")
    # each run counts its fit and next to nothing else (loopml's calls are paused): the
    # first carries none of the imports and registering loopml did inside it. The two
    # fits themselves are not compared, as a fit's CPU time varies on a busy machine.
    for run in (first, second):
        assert run["fit"] <= run["run"] < run["fit"] + 0.05, run
    # a version logged with no run open records no training it did not see
    assert alone["run"] < 0.02


def test_a_run_of_this_process_counts_its_fit_and_not_the_registering(ctx):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    with loopml.start_run(experiment="diabetes") as run:
        model = Ridge().fit(X, y)
        loopml.log_model(model, "progression", input_example=X.head(), explain_data=X)
    assert 0 <= loopml.get_run(run.id).cpu_seconds < 0.05
