"""Every exit status flm can return is listed in `flm --help` (and so in man/flm.1) and in the README: 141 (the
reader of stdout went away) was missing from the help."""

from __future__ import annotations

import re

from flmcli.errors import ExitStatus
from tests.helpers import ROOT, invoke


def test_help_and_readme_list_every_exit_status() -> None:
    text = " ".join(invoke("--help").stdout.decode().split())
    listed = {int(n) for n in re.findall(r"\b(\d+) [a-z(|]", text.split("Exit status:", 1)[1])}
    assert {int(status) for status in ExitStatus} <= listed, text
    readme = ROOT.joinpath("README.md").read_text()
    section = readme.split("**Exit status**", 1)[1].split("\n\n", 1)[0]
    assert {int(status) for status in ExitStatus} <= {int(n) for n in re.findall(r"\b\d+\b", section)}, section
