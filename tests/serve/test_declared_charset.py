"""A text body in the charset its Content-Type declares (`text/csv; charset=latin-1`, `utf-16`) is read as that
text, as the same rows in UTF-8 are: it was read as UTF-8 whatever the client said, so a Latin-1 `Gérard` was
'not UTF-8' (400) and a UTF-16 body 'not text'. An unknown charset is 415; binary formats have none."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, DATA
from tests.serve.test_app import app_client


def _csv() -> str:
    table = pq.read_table(DATA).drop_columns(["Exited"]).slice(0, 4)
    rows = table.to_pylist()
    for row, name in zip(rows, ["Gérard", "Zoë", "Łukasz", "Ann"]):
        row["Surname"] = name  # a column the model does not use: the answer is the same, the text must be read
    lines = [",".join(table.column_names)] + [",".join(str(value) for value in row.values()) for row in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("charset", ["latin-1", "utf-16", "cp1252", "ISO-8859-1", '"utf-8"'])
@pytest.mark.parametrize("path", ["/predict/", "/model/predict/"])
def test_a_body_in_its_declared_charset_answers_as_utf8(charset: str, path: str) -> None:
    text = _csv() if charset.strip('"').lower() not in ("latin-1", "cp1252", "iso-8859-1") else _csv().replace(
        "Łukasz", "Lukasz")  # not in Latin-1
    with app_client({"model": CHURN}) as client:
        utf8 = client.post(path, content=text.encode(), headers={"content-type": "text/csv"})
        declared = client.post(path, content=text.encode(charset.strip('"')),
                               headers={"content-type": f"text/csv; charset={charset}"})
    assert utf8.status_code == 200, utf8.text
    assert (declared.status_code, declared.content) == (200, utf8.content)


def test_a_json_body_in_latin1_skips_the_fast_lane_and_is_read_as_latin1() -> None:
    body = '{"input": [[1, 15634602, "Hargrave", 619, "France", "Female", 42, 2, 0.0, 1, 1, 1, 101348.88]]}'
    with app_client({"model": CHURN}) as client:
        plain = client.post("/predict/", content=body.encode(), headers={"content-type": "application/json"})
        latin = client.post("/predict/", content=body.replace("Hargrave", "G\u00e9rard").encode("latin-1"),
                            headers={"content-type": "application/json; charset=latin-1"})
    assert plain.status_code == 200, plain.text
    assert (latin.status_code, latin.content) == (200, plain.content)


@pytest.mark.parametrize("charset", ["klingon", "rot13", "hex"])
def test_an_unknown_charset_is_415(charset: str) -> None:
    with app_client({"model": CHURN}) as client:
        answer = client.post("/predict/", content=_csv().encode(), headers={"content-type": f"text/csv; charset={charset}"})
    assert answer.status_code == 415
    assert f"unsupported charset {charset!r}" in answer.text
