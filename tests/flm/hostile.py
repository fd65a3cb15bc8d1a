"""A tiny pickle assembler: hostile pickles written opcode by opcode, the way an attacker would."""

from __future__ import annotations

import pickle
import struct
from typing import Any


class Op(bytes):
    """Opcodes that leave exactly one value on the stack."""


def text(value: str) -> Op:
    raw = value.encode("utf-8")
    return Op(pickle.SHORT_BINUNICODE + bytes([len(raw)]) + raw if len(raw) < 256
              else pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw)


def integer(value: int) -> Op:
    if 0 <= value < 2**31:
        return Op(pickle.BININT + struct.pack("<i", value))
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return Op(pickle.LONG1 + bytes([len(raw)]) + raw)


def const(value: Any) -> Op:
    if isinstance(value, Op):
        return value
    if value is None:
        return Op(pickle.NONE)
    if isinstance(value, bool):
        return Op(pickle.NEWTRUE if value else pickle.NEWFALSE)
    if isinstance(value, int):
        return integer(value)
    if isinstance(value, str):
        return text(value)
    if isinstance(value, bytes):
        return Op(pickle.BINBYTES + struct.pack("<I", len(value)) + value)
    if isinstance(value, tuple):
        return tup(*value)
    if isinstance(value, list):
        return Op(pickle.EMPTY_LIST + pickle.MARK + b"".join(const(v) for v in value) + pickle.APPENDS)
    if isinstance(value, dict):
        pairs = b"".join(const(key) + const(item) for key, item in value.items())
        return Op(pickle.EMPTY_DICT + pickle.MARK + pairs + pickle.SETITEMS)
    raise TypeError(type(value))


def tup(*items: Any) -> Op:
    return Op(pickle.MARK + b"".join(const(item) for item in items) + pickle.TUPLE)


def glob(module: str, name: str) -> Op:
    """STACK_GLOBAL, as protocol 4 writes every global."""
    return Op(text(module) + text(name) + pickle.STACK_GLOBAL)


def call(func: Op, *args: Any) -> Op:
    return Op(func + tup(*args) + pickle.REDUCE)


def newobj(cls: Op, *args: Any) -> Op:
    return Op(cls + tup(*args) + pickle.NEWOBJ)


def build(obj: Op, state: Any) -> Op:
    return Op(obj + const(state) + pickle.BUILD)


def program(value: Op) -> bytes:
    return pickle.PROTO + b"\x04" + value + pickle.STOP
