#!/usr/bin/python3
"""Writes mmu_diff_fuzzer.dict, the fuzzing dictionary for binary cases.

usage: make_dict.py CASE_DESCRIPTOR_SET OUT

CASE_DESCRIPTOR_SET is protoc's --descriptor_set_out for proto/case.proto: the
field keys and enum values below come from the .proto itself, so the
dictionary follows any change to it. libFuzzer and AFL++ read the same format.

  op_KIND, control_BIT_on/off, write_RIGHTS
      Each a whole binary Case holding one op: an empty op of each kind, a
      set_control of each bit, a write_entry whose bits are present plus the
      rights named. A binary Case is a run of top-level fields, so engines
      that mutate bytes (AFL++, libFuzzer without the custom mutator) can
      splice these in anywhere between two fields and get one more op.
  flags_RIGHTS, flags_nx
      The low byte of a present entry with those rights, and the byte that
      sets NX as the top byte of a 64-bit entry. The custom mutator hands
      each integer field to libFuzzer's byte mutations as 8 little-endian
      bytes, where a dictionary word overwrites bytes in place.

tests/dict/check_dict.py decodes every entry with protoc and checks it
against its name and against the entry layout documented in case.proto.
"""

import itertools
import sys

from google.protobuf import descriptor_pb2

# Bit of each EntryBits flag in a paging entry (Intel SDM Vol. 3A, 4.3-4.5;
# the EntryBits comment in case.proto), and its short name in entry names.
ENTRY_BITS = {
    "present": (0, "p"),
    "writable": (1, "w"),
    "user": (2, "u"),
    "accessed": (5, "a"),
    "dirty": (6, "d"),
    "page_size": (7, "ps"),
    "global": (8, "g"),
    "nx": (63, "nx"),
}
# Rights combined in write_ entries, and in flags_ entries (low byte only).
WRITE_RIGHTS = ("writable", "user", "page_size", "nx")
FLAG_RIGHTS = ("writable", "user", "accessed", "dirty", "page_size")

LENGTH_DELIMITED = 2
VARINT = 0
FDP = descriptor_pb2.FieldDescriptorProto
VARINT_TYPES = {FDP.TYPE_BOOL, FDP.TYPE_ENUM, FDP.TYPE_UINT32, FDP.TYPE_UINT64,
                FDP.TYPE_INT32, FDP.TYPE_INT64}


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Schema:
    """The messages and enums of the shadowdiff package, by name."""

    def __init__(self, descriptor_set_path):
        files = descriptor_pb2.FileDescriptorSet()
        with open(descriptor_set_path, "rb") as f:
            files.ParseFromString(f.read())
        self.messages = {}
        self.enums = {}
        for file in files.file:
            if file.package != "shadowdiff":
                continue
            for m in file.message_type:
                self.messages[m.name] = {f.name: f for f in m.field}
            for e in file.enum_type:
                self.enums[e.name] = list(e.value)

    def field(self, message, name):
        try:
            return self.messages[message][name]
        except KeyError:
            sys.exit(f"make_dict.py: case.proto has no field {message}.{name}")

    def encode(self, message, values):
        """Encodes message with values {field name: int or bytes}; ints are
        varint fields, bytes are nested messages. Fields go in number order,
        as protobuf serializes them."""
        out = b""
        fields = [(self.field(message, n), v) for n, v in values.items()]
        for field, value in sorted(fields, key=lambda fv: fv[0].number):
            if field.type == FDP.TYPE_MESSAGE:
                out += varint(field.number << 3 | LENGTH_DELIMITED)
                out += varint(len(value)) + value
            elif field.type not in VARINT_TYPES:
                sys.exit(f"make_dict.py: {message}.{field.name} is not a varint")
            elif value:  # proto3 leaves out scalars at their default
                out += varint(field.number << 3 | VARINT) + varint(value)
        return out

    def case_with_op(self, kind, body):
        return self.encode("Case", {"ops": self.encode("Op", {kind: body})})


def check_entry_bits(schema):
    flags = {n for n, f in schema.messages["EntryBits"].items()
             if f.type == FDP.TYPE_BOOL}
    if flags != set(ENTRY_BITS):
        sys.exit("make_dict.py: EntryBits flags %s differ from ENTRY_BITS %s"
                 % (sorted(flags), sorted(ENTRY_BITS)))


def subsets(names):
    for n in range(len(names) + 1):
        yield from itertools.combinations(names, n)


def rights_name(prefix, rights):
    return "_".join([prefix] + [ENTRY_BITS[r][1] for r in ("present",) + rights])


def entries(schema):
    for field in schema.messages["Op"].values():
        if field.HasField("oneof_index"):
            yield "op_" + field.name, schema.case_with_op(field.name, b"")
    for bit in schema.enums["ControlBit"]:
        for on in (True, False):
            body = schema.encode("SetControl", {"bit": bit.number, "value": on})
            yield ("control_%s_%s" % (bit.name.lower(), "on" if on else "off"),
                   schema.case_with_op("set_control", body))
    for rights in subsets(WRITE_RIGHTS):
        bits = schema.encode("EntryBits", {r: 1 for r in ("present",) + rights})
        write = schema.encode("WriteEntry", {"bits": bits})
        yield rights_name("write", rights), schema.case_with_op("write_entry", write)
    for rights in subsets(FLAG_RIGHTS):
        value = sum(1 << ENTRY_BITS[r][0] for r in ("present",) + rights)
        yield rights_name("flags", rights), bytes([value])
    yield "flags_nx", bytes([1 << (ENTRY_BITS["nx"][0] - 56)])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    schema = Schema(sys.argv[1])
    for name in ("Case", "Op", "SetControl", "WriteEntry", "EntryBits"):
        if name not in schema.messages:
            sys.exit(f"make_dict.py: {sys.argv[1]} has no message {name}")
    check_entry_bits(schema)
    lines = ["# Generated by tools/make_dict.py from proto/case.proto."]
    seen = set()
    for name, value in entries(schema):
        if value in seen:  # e.g. control_cr0_wp_off is the empty set_control
            continue
        seen.add(value)
        lines.append('%s="%s"' % (name, "".join("\\x%02x" % b for b in value)))
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
