"""The format registry: one record per format, and every format module keeps the FormatModule contract."""

from __future__ import annotations

import inspect

import pytest

from flmcli import formats
from flmcli.errors import InputError
from flmcli.formats.registry import EXTENSIONS, FORMAT_NAMES, FORMATS, MEDIA_TYPES


def test_one_record_per_name_and_no_shared_extension_or_media_type() -> None:
    assert all(name == fmt.name for name, fmt in FORMATS.items())
    assert FORMAT_NAMES == ("json", "ndjson", "csv", "tsv", "parquet", "arrow")
    assert len(EXTENSIONS) == sum(len(fmt.extensions) for fmt in FORMATS.values())
    assert len(MEDIA_TYPES) == sum(len(fmt.media_types) for fmt in FORMATS.values())
    assert all(ext.startswith(".") and ext == ext.lower() for ext in EXTENSIONS)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_each_module_keeps_the_contract(name: str) -> None:
    module = formats.module(name)
    read = inspect.signature(module.read).parameters
    assert list(read)[:1] == ["fp"] and {"source", "batch_size", "max_delay"} <= set(read)
    assert read["max_delay"].default is None
    for function in (module.encode, module.write):
        parameters = inspect.signature(function).parameters
        assert parameters["keep_input"].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters["keep_input"].default is False
        assert "shape" not in parameters


def test_derived_facts_follow_the_records() -> None:
    assert [name for name in FORMAT_NAMES if formats.get(name).binary] == ["parquet", "arrow"]
    assert formats.extension("parquet") == ".parquet" and formats.format_for_path("x.JSONL") == "ndjson"
    assert formats.get("arrow").seekable_needed(b"ARROW1\x00\x00") and not formats.get("arrow").seekable_needed(b"\xff")
    assert formats.get("parquet").seekable_needed(b"")
    assert formats.detect(None, b"PAR1....", None) == "parquet"
    with pytest.raises(InputError, match="unknown format 'xml'"):
        formats.get("xml")
