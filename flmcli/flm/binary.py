"""Binary FLM layout (Flama 1.12+): 16-byte header, then a protocol 1 or protocol 2 body.

Every size in the file is checked against the bytes actually present before it is used.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ModelFileError
from .codecs import CODEC_IDS, CODEC_NUMBERS, Budget, DecompressionBomb, checksummed, compress, decompress
from .names import is_plain_name

HEADER = struct.Struct("!IIQ")  # protocol, compression id, body size
P1_BODY = struct.Struct("!QQIQ")  # meta size, model size, artifacts count, artifacts size
P2_BODY = struct.Struct("!QQQ")  # meta size, artifacts size, model size (each with its prefix)
ENTRY = struct.Struct("!IQ")  # name size, content size
COUNT = struct.Struct("!I")

SECTION_INHERIT = 0x00
SECTION_NONE = 0xFF
KINDS = {0: "binary", 1: "bundle"}


@dataclass
class BinaryFile:
    """What the binary layout holds, decompressed."""

    protocol: int
    compression: str
    meta: bytes
    payload: bytes
    kind: str = "binary"
    artifacts: dict[str, bytes] = field(default_factory=dict)
    section_codecs: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, bool] = field(default_factory=dict)  # per section: content checksum verified on read


def looks_binary(head: bytes) -> bool:
    """docs/format.md §9 rule 1: `00 00 00 01|02` followed by a known compression id."""
    if len(head) < 8:
        return False
    protocol, codec = struct.unpack_from("!II", head)
    return protocol in (1, 2) and codec in CODEC_IDS


def _section_codec(byte: int, inherited: str, what: str) -> str:
    if byte == SECTION_INHERIT:
        return inherited
    if byte == SECTION_NONE:
        return "none"
    if byte in CODEC_IDS:
        return CODEC_IDS[byte]
    raise ModelFileError(f"{what}: unknown compression byte 0x{byte:02x}")


def _split(body: memoryview, sizes: list[tuple[str, int]], body_size: int, prefix: int) -> list[memoryview]:
    """Cut the body (after its `prefix`-byte body header) into the declared sections.

    Sections must fill the body exactly and the header's body_size must match it: no Flama
    release checks body_size, but a file where it disagrees was not written by one.
    """
    offset, sections = 0, []
    for name, size in sizes:
        if size > len(body) - offset:
            raise ModelFileError(
                f"file is truncated: the {name} section declares {size} bytes but only "
                f"{max(len(body) - offset, 0)} remain"
            )
        sections.append(body[offset : offset + size])
        offset += size
    if offset != len(body):
        raise ModelFileError(f"{len(body) - offset} unexpected bytes after the last section")
    if body_size != len(body) + prefix:
        raise ModelFileError(
            f"header body_size is {body_size} but the file holds {len(body) + prefix} bytes after the header"
        )
    return sections


def parse(data: bytes, *, budget: Budget) -> BinaryFile:
    if len(data) < HEADER.size:
        raise ModelFileError(f"file is truncated: {len(data)} bytes, shorter than the 16-byte header")
    protocol, codec_id, body_size = HEADER.unpack_from(data)
    if protocol not in (1, 2):
        raise ModelFileError(f"unknown protocol {protocol} in the file header (flm reads protocols 1 and 2)")
    if codec_id not in CODEC_IDS:
        raise ModelFileError(f"unknown compression id {codec_id} in the file header (known: 1-4)")
    codec = CODEC_IDS[codec_id]
    body = memoryview(data)[HEADER.size :]
    if protocol == 1:
        return _parse_p1(body, body_size, codec, budget)
    return _parse_p2(body, body_size, codec, budget)


def _parse_p1(body: memoryview, body_size: int, codec: str, budget: Budget) -> BinaryFile:
    if len(body) < P1_BODY.size:
        raise ModelFileError(f"file is truncated inside the {P1_BODY.size}-byte protocol-1 body header")
    meta_size, model_size, count, artifacts_size = P1_BODY.unpack_from(body)
    meta, model, artifacts = _split(
        body[P1_BODY.size :], [("meta", meta_size), ("model", model_size), ("artifacts", artifacts_size)],
        body_size, P1_BODY.size,
    )
    return BinaryFile(
        protocol=1,
        compression=codec,
        meta=decompress(codec, meta, budget=budget, what="meta section"),
        payload=decompress(codec, model, budget=budget, what="model section"),
        artifacts=_parse_artifacts(artifacts, count, codec, budget),
        section_codecs={"meta": codec, "artifacts": codec, "model": codec},
        checksums={"meta": checksummed(codec, meta), "model": checksummed(codec, model)},
    )


def _parse_p2(body: memoryview, body_size: int, codec: str, budget: Budget) -> BinaryFile:
    if len(body) < P2_BODY.size:
        raise ModelFileError(f"file is truncated inside the {P2_BODY.size}-byte protocol-2 body header")
    meta_size, artifacts_size, model_size = P2_BODY.unpack_from(body)
    for name, size, least in (("meta", meta_size, 1), ("artifacts", artifacts_size, 5), ("model", model_size, 2)):
        if size < least:
            raise ModelFileError(f"the {name} section declares {size} bytes, less than its {least}-byte prefix")
    meta, artifacts, model = _split(
        body[P2_BODY.size :], [("meta", meta_size), ("artifacts", artifacts_size), ("model", model_size)],
        body_size, P2_BODY.size,
    )
    meta_codec = _section_codec(meta[0], codec, "meta section")
    artifacts_codec = _section_codec(artifacts[0], codec, "artifacts section")
    model_codec = _section_codec(model[0], codec, "model section")
    if model[1] not in KINDS:
        raise ModelFileError(f"model section: unknown model kind byte 0x{model[1]:02x}")
    (count,) = COUNT.unpack_from(artifacts, 1)
    return BinaryFile(
        protocol=2,
        compression=codec,
        meta=decompress(meta_codec, meta[1:], budget=budget, what="meta section"),
        payload=decompress(model_codec, model[2:], budget=budget, what="model section"),
        kind=KINDS[model[1]],
        artifacts=_parse_artifacts(artifacts[5:], count, artifacts_codec, budget),
        section_codecs={"meta": meta_codec, "artifacts": artifacts_codec, "model": model_codec},
        checksums={"meta": checksummed(meta_codec, meta[1:]), "model": checksummed(model_codec, model[2:])},
    )


def _utf8_span(data: memoryview, start: int, code_points: int) -> int | None:
    """Byte length of the first `code_points` UTF-8 characters at `start`, or None if they are not there."""
    offset = start
    for _ in range(code_points):
        if offset >= len(data):
            return None
        lead = data[offset]
        width = 1 if lead < 0x80 else 2 if 0xC2 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4 if 0xF0 <= lead < 0xF5 else 0
        if width == 0:
            return None
        offset += width
    return offset - start


def _fits(section: memoryview, end: int, remaining: int) -> bool:
    """Whether `remaining` more entries can start at `end`: the section ends there, or a header that fits does."""
    if remaining == 0:
        return end == len(section)
    if len(section) - end < ENTRY.size:
        return False
    name_size, content_size = ENTRY.unpack_from(section, end)
    return bool(name_size + content_size <= len(section) - end - ENTRY.size)


def _entry(section: memoryview, offset: int, remaining: int,
           read: Callable[[memoryview], bytes]) -> tuple[str, bytes, int]:
    """The entry at `offset` and where the next one starts, decided here and now.

    Binary writers store `len(name)` in code points but write UTF-8 bytes (docs/format.md §6.2).
    The name is read as `name_size` bytes, as the format says, unless that reading is inconsistent
    (bad UTF-8, content that does not decode, or no room for the entries still to come) and reading
    it as code points is not. Each entry is decided once, without backtracking: linear time.
    """
    if len(section) - offset < ENTRY.size:
        raise ModelFileError(f"artifacts section is truncated inside entry header at byte {offset}")
    name_size, content_size = ENTRY.unpack_from(section, offset)
    start = offset + ENTRY.size
    spans = [name_size]
    as_code_points = _utf8_span(section, start, name_size)
    if as_code_points is not None and as_code_points != name_size:
        spans.append(as_code_points)
    problem = "its name or content runs past the section"
    for span in spans:
        end = start + span + content_size
        if end > len(section) or not _fits(section, end, remaining - 1):
            continue
        try:
            name = bytes(section[start : start + span]).decode("utf-8")
        except UnicodeDecodeError:
            problem = "its name is not UTF-8"
            continue
        if span != name_size and len(name) != name_size:
            continue
        try:
            content = read(section[start + span : end])
        except DecompressionBomb:
            raise
        except ModelFileError as exc:
            problem = exc.message
            continue
        return name, content, end
    raise ModelFileError(f"artifacts section is corrupt: the entry at byte {offset} cannot be read ({problem})")


def _parse_artifacts(section: memoryview, count: int, codec: str, budget: Budget) -> dict[str, bytes]:
    if count * ENTRY.size > len(section):
        raise ModelFileError(f"artifacts section: {count} entries declared but the section holds {len(section)} bytes")

    def read(content: memoryview) -> bytes:
        return decompress(codec, content, budget=budget, what="artifact")

    artifacts: dict[str, bytes] = {}
    offset = 0
    for index in range(count):
        name, content, offset = _entry(section, offset, count - index, read)
        if not is_plain_name(name):
            raise ModelFileError(f"artifacts section: unsafe artifact name {name!r} (must be a single plain file name)")
        if name in artifacts:
            raise ModelFileError(f"artifacts section: duplicate artifact name {name!r}")
        artifacts[name] = content
    if offset != len(section):
        raise ModelFileError(
            f"artifacts section is corrupt: its {count} entries do not parse to the section's {len(section)} bytes"
        )
    return artifacts


def _section_byte(codec: str | None) -> int:
    if codec == "inherit":
        return SECTION_INHERIT
    if codec is None or codec == "none":
        return SECTION_NONE
    return CODEC_NUMBERS[codec]


def build(*, protocol: int, compression: str, meta: bytes, payload: bytes, artifacts: dict[str, bytes],
          kind: str = "binary", meta_compression: str | None = "inherit",
          artifact_compression: str | None = "inherit", model_compression: str | None = "inherit") -> bytes:
    """Serialise a binary FLM file exactly as Flama writes it (docs/format.md §6, §7)."""
    if compression not in CODEC_NUMBERS:
        raise ValueError(f"unknown compression {compression!r}; expected one of {', '.join(CODEC_NUMBERS)}")

    def resolve(choice: str | None) -> str:
        return compression if choice == "inherit" else "none" if choice is None else choice

    def entries(codec: str) -> bytes:
        out = bytearray()
        for name, content in artifacts.items():
            encoded = name.encode("utf-8")
            packed = compress(codec, content)
            out += ENTRY.pack(len(encoded), len(packed)) + encoded + packed
        return bytes(out)

    if protocol == 1:
        if kind != "binary":
            raise ValueError("protocol 1 cannot hold a bundle model")
        meta_sec, model_sec, art_sec = compress(compression, meta), compress(compression, payload), entries(compression)
        body = P1_BODY.pack(len(meta_sec), len(model_sec), len(artifacts), len(art_sec)) + meta_sec + model_sec + art_sec
    elif protocol == 2:
        for choice in (meta_compression, artifact_compression, model_compression):
            if choice not in (None, "inherit", "none") and choice not in CODEC_NUMBERS:
                raise ValueError(f"unknown section compression {choice!r}")
        meta_sec = bytes([_section_byte(meta_compression)]) + compress(resolve(meta_compression), meta)
        art_sec = (bytes([_section_byte(artifact_compression)]) + COUNT.pack(len(artifacts))
                   + entries(resolve(artifact_compression)))
        kind_byte = {v: k for k, v in KINDS.items()}[kind]
        model_sec = bytes([_section_byte(model_compression), kind_byte]) + compress(resolve(model_compression), payload)
        body = P2_BODY.pack(len(meta_sec), len(art_sec), len(model_sec)) + meta_sec + art_sec + model_sec
    else:
        raise ValueError(f"unknown protocol {protocol!r}; expected 1 or 2")
    return HEADER.pack(protocol, CODEC_NUMBERS[compression], len(body)) + body
