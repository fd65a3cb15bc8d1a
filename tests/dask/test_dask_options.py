"""`flmcli.dask.predict` and the `--dask` job take the PredictOptions a local run is built from (one source of
defaults): options, or single settings over them, give what `flm predict` gives. Dask's local scheduler here
(no cluster): the options are the point, the cluster is tested in test_dask_predict.py."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from flmcli.options import PredictOptions
from tests.dask.dask_support import CHURN, churn, local_frame, write


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    return [write(churn(300, 0), tmp_path / "a.parquet"), write(churn(200, 300), tmp_path / "b.parquet")]


def test_options_and_settings_score_as_flm_predict(tmp_path: Path, inputs: list[Path]) -> None:
    import dask.dataframe as dd

    import flmcli.dask

    frame = dd.read_parquet([str(p) for p in inputs])
    expected = local_frame(CHURN, inputs, tmp_path, "--method", "predict_proba", "--keep", "CustomerId",
                           "--output-name", "p")
    given = PredictOptions(method="predict_proba", keep_input=["CustomerId"], output_name="p")
    by_options = flmcli.dask.predict(frame, CHURN, given).compute()
    by_settings = flmcli.dask.predict(frame, CHURN, method="predict_proba", keep=["CustomerId"],
                                      output_name="p").compute()
    over = flmcli.dask.predict(frame, CHURN, PredictOptions(method="predict_proba"), keep_input=["CustomerId"],
                               output_name="p").compute()
    assert list(expected.columns) == ["CustomerId", "p_0", "p_1"]
    for scored in (by_options, by_settings, over):
        assert scored.reset_index(drop=True).equals(expected)


def test_an_unknown_setting_is_a_type_error(inputs: list[Path]) -> None:
    import dask.dataframe as dd

    import flmcli.dask

    with pytest.raises(TypeError, match="methd"):
        flmcli.dask.predict(dd.read_parquet(str(inputs[0])), CHURN, methd="predict_proba")


def test_the_job_and_the_api_default_to_predict_options() -> None:
    import flmcli.dask
    from flmcli.cli.dask import run_on_dask
    from flmcli.dask import job, worker

    assert not hasattr(worker, "Options")  # no second record of the options with its own defaults
    for function in (job.run, run_on_dask):
        assert "options" in inspect.signature(function).parameters
    api = inspect.signature(flmcli.dask.predict).parameters
    assert api["options"].default is None
    assert not {"method", "on_error", "features", "output_name", "trust", "trust_all"} & set(api)
