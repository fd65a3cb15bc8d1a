"""`flm inspect --audit` is usable as a gate (`flm inspect --audit m.flm && flm predict m.flm ...`): the report
is printed as before, and the exit status is 3 when the pickle would import anything untrusted (README: "A
refused name is reported (exit 3)"); it was 0 whatever the verdict."""

from __future__ import annotations

import json
from pathlib import Path

from tests.flm.hostile import call, glob, program
from tests.flm.test_pickle_bypasses import flm_file
from tests.helpers import CHURN, invoke


def test_an_untrusted_import_is_exit_3_with_the_report_on_stdout(tmp_path: Path) -> None:
    model = flm_file(tmp_path / "evil.flm", program(call(glob("builtins", "eval"), "1")))
    ran = invoke("inspect", "--audit", model)
    assert ran.returncode == 3, ran.stderr
    report = json.loads(ran.stdout)
    assert report["trusted"] is False
    assert {"name": "builtins.eval", "trusted": False} in report["imports"]


def test_trusting_the_name_makes_it_exit_0(tmp_path: Path) -> None:
    model = flm_file(tmp_path / "evil.flm", program(call(glob("builtins", "eval"), "1")))
    ran = invoke("inspect", "--audit", "--trust", "builtins.eval", model)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["trusted"] is True


def test_a_trusted_model_is_exit_0() -> None:
    ran = invoke("inspect", "--audit", CHURN)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["trusted"] is True
