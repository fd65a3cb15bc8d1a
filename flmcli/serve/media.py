"""Which flm format a request body is in, and which one the client wants back.

The names are the formats registry's (`json`, `ndjson`, `csv`, `tsv`, `parquet`, `arrow`), so the server
reads and writes bodies with exactly the readers and writers `flm predict` uses.
"""

from __future__ import annotations

from ..errors import InputError
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


# Formats read as text, and the charsets they are read in as they are: a body in another declared charset is
# decoded from it first (as_utf8).
_TEXT_FORMATS = frozenset({"json", "ndjson", "csv", "tsv"})
_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
# Python's codecs that are no charset a client can mean: they rewrite the text (unicode-escape turns `\u0034`
# into `4`), encode host names (idna, punycode), or refuse everything (undefined: a 500 before).
_NOT_CHARSETS = frozenset({"undefined", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "charmap"})


def charset(content_type: str | None) -> str | None:
    """The charset a Content-Type declares (`text/csv; charset=latin-1`), lower case; None when it declares none."""
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').strip().lower() or None
    return None


def takes_as_is(content_type: str | None) -> bool:
    """Whether a text body is read as it came: it declares no charset, or UTF-8 (or ASCII, a part of it)."""
    name = charset(content_type)
    return name is None or name in _UTF8


# Bytes decoded per call for a large body (~1.3 ms of UTF-16 each).
_PIECE = 512 * 1024


def as_utf8(content_type: str | None, fmt: str, body: bytes) -> bytes:
    """A text body in UTF-8, the text flm's readers take: decoded from the charset its Content-Type declares
    (a client sending `charset=latin-1` or `utf-16` means its bytes so). Binary formats have no charset."""
    if fmt not in _TEXT_FORMATS or takes_as_is(content_type):
        return body
    import codecs

    name = charset(content_type) or "utf-8"
    at = 0  # where the piece being decoded starts in `body`, less what the decoder held back from the last one
    try:
        if codecs.lookup(name).name in _NOT_CHARSETS:
            raise LookupError(name)
        if len(body) <= _PIECE:
            # encoded inside: a decoder may make lone surrogates (utf-7's "+2D8-"), which UTF-8 cannot hold
            return body.decode(name).encode()
        # A piece at a time: one decode call holds the GIL throughout (a 52 MB UTF-16 body: ~140 ms), so even on a
        # worker thread it held the event loop; between pieces the loop gets its turn.
        decoder = codecs.getincrementaldecoder(name)()
        pieces = []
        for start in range(0, len(body), _PIECE):
            at = start - len(decoder.getstate()[0])
            pieces.append(decoder.decode(body[start : start + _PIECE]).encode())
        at = len(body) - len(decoder.getstate()[0])
        pieces.append(decoder.decode(b"", final=True).encode())
        return b"".join(pieces)
    except LookupError:  # no such codec, or not one of text (rot13, hex)
        raise UnsupportedMediaType(f"unsupported charset {name[:40]!r}; send UTF-8", field="Content-Type") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"the body is not {name} text (byte {at + exc.start + 1})", field="Content-Type") from None
    except UnicodeError as exc:  # a codec's own complaint, without a position; a lone surrogate
        raise InputError(f"the body is not {name} text ({str(exc)[:100]})", field="Content-Type") from None


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
