#!/usr/bin/env python3
"""Regenerates struct_vectors.json: test vectors for Struct from Python's `struct`.

Usage:
    python3 tests/data/make_struct_vectors.py           # rewrite struct_vectors.json
    python3 tests/data/make_struct_vectors.py --stdout  # print it instead

The output is deterministic for a given platform (native "@" sizes and byte
order are recorded under "native"); tests/struct_test.ts checks that the
committed file matches a fresh run when python3 is available.

Value encoding (JSON): booleans and 8- to 32-bit integers as JSON values;
64-bit integers as {"bigint": "<decimal>"}; floats as numbers, or
{"float": "nan" | "inf" | "-inf" | "-0"}; bytes as {"bytes": "<hex>"}.
"""

import json
import math
import os
import random
import struct
import sys

ORDERS = "@=<>!"
INT_CODES = "bBhHiIlLqQ"
NATIVE_ONLY_INT_CODES = "nNP"


def is_big(order, code):
    """Whether an integer code is 64-bit for this byte order (JS bigint)."""
    return code in "bBhHiIlLqQnNP" and struct.calcsize(order + code) == 8


def enc(order, code, v):
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return {"bigint": str(v)} if is_big(order, code) else v
    if isinstance(v, float):
        if math.isnan(v):
            return {"float": "nan"}
        if math.isinf(v):
            return {"float": "inf" if v > 0 else "-inf"}
        if v == 0 and math.copysign(1, v) < 0:
            return {"float": "-0"}
        return v
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    raise TypeError(repr(v))


def value_codes(fmt):
    """The code of each value of a format, in order (our own small parser)."""
    codes = []
    i = 1 if fmt[:1] in ORDERS else 0
    while i < len(fmt):
        if fmt[i].isspace():
            i += 1
            continue
        j = i
        while fmt[j].isdigit():
            j += 1
        count = int(fmt[i:j]) if j > i else 1
        code = fmt[j]
        if code in "sp":
            codes.append(code)
        elif code != "x":
            codes.extend(code * count)
        i = j + 1
    return codes


def order_of(fmt):
    return fmt[0] if fmt[:1] in ORDERS else "@"


def encode_values(fmt, values):
    order = order_of(fmt)
    return [enc(order, c, v) for c, v in zip(value_codes(fmt), values)]


def pack_vector(fmt, *values):
    packed = struct.pack(fmt, *values)
    unpacked = struct.unpack(fmt, packed)
    return {
        "format": fmt,
        "values": encode_values(fmt, values),
        "packed": packed.hex(),
        "unpacked": encode_values(fmt, unpacked),
    }


def unpack_vector(fmt, packed):
    return {"format": fmt, "packed": packed.hex(), "unpacked": encode_values(fmt, struct.unpack(fmt, packed))}


def int_range(order, code):
    bits = 8 * struct.calcsize(order + code)
    if code.islower():
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


HALF_VALUES = [
    0.0, -0.0, 1.0, -2.5, 65504.0, -65504.0, 65519.0, 2.0**-14, 2.0**-24, 2.0**-25,
    3 * 2.0**-26, 2.0**-14 - 2.0**-25, 1023 * 2.0**-24, 1 / 3, 0.1, 2049.0, 2051.0,
    1e-10, 1.5 * 2.0**-24, 2.0**-24 * 0.5000001, math.pi, math.inf, -math.inf, math.nan,
]
FLOAT_VALUES = [
    0.0, -0.0, 1.5, -1.5, 0.1, 3.4028234663852886e38, -3.4028234663852886e38, 1.17549435e-38,
    1e-45, 1e-46, 1e-50, 16777217.0, math.pi, math.inf, -math.inf, math.nan,
]
DOUBLE_VALUES = [
    0.0, -0.0, 0.1, -2.75, 1e308, -1.7976931348623157e308, 5e-324, 2.2250738585072014e-308,
    9007199254740993.0, math.pi, math.inf, -math.inf, math.nan,
]


def pack_vectors():
    out = []
    for order in ORDERS:
        codes = INT_CODES + (NATIVE_ONLY_INT_CODES if order == "@" else "")
        for code in codes:
            lo, hi = int_range(order, code)
            size = struct.calcsize(order + code)
            pattern = int.from_bytes(bytes(range(1, size + 1)), "big")
            values = sorted({lo, hi, 0, 1, pattern, hi // 3} | ({-1, lo + 1, -pattern} if lo < 0 else set()))
            for v in values:
                out.append(pack_vector(order + code, v))
        for v in HALF_VALUES:
            out.append(pack_vector(order + "e", v))
        for v in FLOAT_VALUES:
            out.append(pack_vector(order + "f", v))
        for v in DOUBLE_VALUES:
            out.append(pack_vector(order + "d", v))
        for v in (True, False):
            out.append(pack_vector(order + "?", v))
        for v in (b"\x00", b"A", b"\xff"):
            out.append(pack_vector(order + "c", v))
        for fmt, v in (
            ("0s", b""), ("s", b"a"), ("1s", b""), ("4s", b"ab"), ("4s", b"abcdef"), ("3s", b"\x00\xff\x80"),
            ("1p", b"abc"), ("2p", b""), ("5p", b"ab"), ("5p", b"abcdefg"), ("300p", b"z" * 300),
            ("256p", b"y" * 255), ("257p", b"w" * 256),
        ):
            out.append(pack_vector(order + fmt, v))
        out.append(pack_vector(order + "b2xb", -2, 3))
        out.append(pack_vector(order + "3H", 1, 0xFFFF, 0x1234))
        out.append(pack_vector(order + "2q0H", -3, 4))
        out.append(pack_vector(order + "xB0sx", 9, b""))
        out.append(pack_vector(order + "bBhHiIlLqQefd?c4s5p2x", -1, 2, -3, 4, -5, 6, -7, 8, -9, 10, 1.5, 2.25, -3.125, True, b"!", b"four", b"five"))
        out.append(pack_vector(order + " 2h\tI\n", -1, 2, 3))
    for fmt, values in (
        ("@bi", (1, 2)), ("@bq", (1, 2)), ("@bh", (1, 2)), ("@bd", (1, 2.5)), ("@be", (1, 2.5)),
        ("@bf", (1, 2.5)), ("@b?", (1, True)), ("@cq", (b"c", 2)), ("@bl", (1, 2)), ("@b0q", (1,)),
        ("@qb", (1, 2)), ("@hbh", (1, 2, 3)), ("@b3sq", (1, b"abc", 2)), ("@bP", (1, 2)), ("@?d", (True, 0.5)),
        ("@2bi", (1, 2, 3)), ("@bxi", (1, 2)), ("@b5xi", (1, 2)), ("bi", (1, 2)), ("@hi0l", (1, 2)),
        ("=bi", (1, 2)), ("=bq", (1, 2)), ("=bl", (1, 2)),
    ):
        out.append(pack_vector(fmt, *values))
    return out


def random_vectors(rng):
    """Unpack random bytes with every order, then round-trip what came out."""
    unpacks = []
    for order in ORDERS:
        fmt = order + "bBhHiIlLqQefd?c3s4p"
        for _ in range(20):
            packed = rng.getrandbits(8 * struct.calcsize(fmt)).to_bytes(struct.calcsize(fmt), "little")
            unpacks.append(unpack_vector(fmt, packed))
        for _ in range(20):
            packed = rng.getrandbits(16).to_bytes(2, "little")
            unpacks.append(unpack_vector(order + "e", packed))
    unpacks.append(unpack_vector("!?", b"\x05"))
    unpacks.append(unpack_vector("!4p", b"\x09abc"))
    unpacks.append(unpack_vector("<e", b"\x01\x7c"))
    unpacks.append(unpack_vector("<f", b"\x01\x00\x80\xff"))
    return unpacks


SIZE_FORMATS = [
    "", "x", "@", "!", "@bi", "=bi", "@b0q", "@bq0q", "@qb", "@l", "@L", "=l", "<q", "@n", "@N", "@P",
    "@e", "@be", "@bf", "@bd", "@c?i", "@1000s", "<100H", "!65535x", "@100p3q", " H h", "<0s", "@0c",
]

BAD_FORMATS = [
    "Z", "!LZ", "4", "!2", "<>", "H<", "4 s", " !H", "<n", ">N", "!P", "=n", "$", "!H$", "H!", "hh@",
    "\t!H", "3", "!3 H", "!H\u00e9", "!-1H", "!h h:",
]


def out_of_range():
    cases = []
    for order in "<>!=@":
        for code in INT_CODES:
            lo, hi = int_range(order, code)
            cases.append((order + code, lo - 1))
            cases.append((order + code, hi + 1))
    cases += [("<e", 65520.0), ("<e", -1e6), ("!e", 1e300), ("<f", 1e39), ("!f", -3.5e38)]
    result = []
    for fmt, v in cases:
        try:
            struct.pack(fmt, v)
        except (struct.error, OverflowError):
            result.append({"format": fmt, "values": encode_values(fmt, [v])})
        else:
            raise AssertionError(f"{fmt} {v} packed")
    return result


def main():
    for fmt in BAD_FORMATS:
        try:
            struct.calcsize(fmt)
        except (struct.error, UnicodeEncodeError):
            pass
        else:
            raise AssertionError(f"{fmt!r} is valid in Python")
    data = {
        "generator": "tests/data/make_struct_vectors.py",
        "native": {"byteorder": sys.byteorder, "long": struct.calcsize("@l")},
        "pack": pack_vectors(),
        "unpack": random_vectors(random.Random(20240905)),
        "sizes": [{"format": f, "size": struct.calcsize(f)} for f in SIZE_FORMATS],
        "badFormats": BAD_FORMATS,
        "outOfRange": out_of_range(),
    }
    lines = ["{"]
    keys = list(data)
    for k, key in enumerate(keys):
        value = data[key]
        comma = "," if k < len(keys) - 1 else ""
        if isinstance(value, list):
            lines.append(f"  {json.dumps(key)}: [")
            lines += [f"    {json.dumps(item)}" + ("," if j < len(value) - 1 else "") for j, item in enumerate(value)]
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if "--stdout" in sys.argv:
        sys.stdout.write(text)
    else:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "struct_vectors.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
