"""Which flm format a request body is in, and which one the client wants back.

The names are the formats registry's (`json`, `ndjson`, `csv`, `tsv`, `parquet`, `arrow`), so the server
reads and writes bodies with exactly the readers and writers `flm predict` uses.
"""

from __future__ import annotations

from ..formats.registry import FORMATS
from ..formats.registry import MEDIA_TYPES as _MEDIA_TYPES
from .errors import NotAcceptable, UnsupportedMediaType

# Accepted request types -> format, and the type each format is answered with: both from the formats registry.
MEDIA_TYPES: dict[str, str] = dict(_MEDIA_TYPES)
RESPONSE_TYPES: dict[str, str] = {fmt.name: fmt.response_type for fmt in FORMATS.values()}
# `curl -d '{"input": ...}'` sends form-urlencoded, and some clients text/plain: a model server has no forms,
# so both are read as the JSON they hold.
_LOOSE_JSON = frozenset({"application/x-www-form-urlencoded", "text/plain"})


def _bare(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def request_format(content_type: str | None) -> str:
    """The format of a request body; JSON when the client names none (as Flama assumes)."""
    if not content_type:
        return "json"
    bare = _bare(content_type)
    if bare in MEDIA_TYPES:
        return MEDIA_TYPES[bare]
    if bare in _LOOSE_JSON:
        return "json"
    if bare.endswith("+json"):
        return "json"
    raise UnsupportedMediaType(
        f"unsupported Content-Type {bare!r}; send one of {', '.join(sorted(MEDIA_TYPES))}", field="Content-Type"
    )


def response_format(accept: str | None, request_fmt: str) -> str:
    """The format to answer in: the best Accept match, else the request's own format."""
    if not accept:
        return request_fmt
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        bare = _bare(part)
        quality = 1.0
        for param in part.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, bare))
    for _, _, bare in sorted(ranked):
        if bare in ("*/*", "") or bare == "application/*" and RESPONSE_TYPES[request_fmt].startswith("application/"):
            return request_fmt
        if bare == "text/*":
            return request_fmt if RESPONSE_TYPES[request_fmt].startswith("text/") else "csv"
        if bare in MEDIA_TYPES:
            return MEDIA_TYPES[bare]
        if bare.endswith("+json"):
            return "json"
    raise NotAcceptable(
        f"cannot answer in {accept!r}; accept one of {', '.join(sorted(RESPONSE_TYPES.values()))}", field="Accept"
    )
