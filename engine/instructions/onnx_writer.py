"""Write an ONNX model (protobuf wire format) from numpy arrays, so the engine needs no `onnx` package."""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass, field

import numpy as np

# onnx.proto TensorProto.DataType values used here.
FLOAT = 1
INT64 = 7
_ELEM_TYPES = {np.dtype(np.float32): FLOAT, np.dtype(np.int64): INT64}

# onnx.proto AttributeProto.AttributeType values.
_ATTR_FLOAT, _ATTR_INT, _ATTR_INTS = 1, 2, 7

IR_VERSION = 8  # the IR that opset 17 belongs to

# A message is kept as a list of byte pieces and joined once at the end: the weights are 90 MB, and
# concatenating at every nesting level copied them five times (over a second on a busy CPU).
Message = list  # list[bytes | memoryview]


def _size(message: Message) -> int:
    return sum(p.nbytes if isinstance(p, memoryview) else len(p) for p in message)


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 -> two's complement, as protobuf encodes them
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int_field(number: int, value: int) -> Message:
    return [_varint(number << 3) + _varint(value)]


def _float_field(number: int, value: float) -> Message:
    return [_varint(number << 3 | 5) + struct.pack("<f", value)]


def _len_field(number: int, message: Message) -> Message:
    return [_varint(number << 3 | 2) + _varint(_size(message)), *message]


def _str_field(number: int, text: str) -> Message:
    return _len_field(number, [text.encode("utf-8")])


def tensor_proto(name: str, array: np.ndarray) -> Message:
    """TensorProto with raw_data viewing the array's memory (little-endian, as ONNX requires)."""
    if sys.byteorder != "little":  # pragma: no cover - every platform PhotoMend ships on is little-endian
        array = array.astype(array.dtype.newbyteorder("<"))
    array = np.ascontiguousarray(array)
    message: Message = []
    for d in array.shape:
        message += _int_field(1, d)
    message += _int_field(2, _ELEM_TYPES[array.dtype])
    message += _str_field(8, name)
    message += _len_field(9, [array.data.cast("B")])
    return message


def _attribute(name: str, value: int | float | list[int] | tuple[int, ...]) -> Message:
    message = _str_field(1, name)
    if isinstance(value, bool | int):
        return message + _int_field(20, _ATTR_INT) + _int_field(3, int(value))
    if isinstance(value, float):
        return message + _int_field(20, _ATTR_FLOAT) + _float_field(2, value)
    message += _int_field(20, _ATTR_INTS)
    for v in value:
        message += _int_field(8, v)
    return message


def _value_info(name: str, elem_type: int, shape: tuple[int | str, ...]) -> Message:
    dims: Message = []
    for d in shape:
        dims += _len_field(1, _str_field(2, d) if isinstance(d, str) else _int_field(1, d))
    tensor_type = _int_field(1, elem_type) + _len_field(2, dims)
    return _str_field(1, name) + _len_field(2, _len_field(1, tensor_type))


@dataclass
class GraphBuilder:
    """Collects nodes and initializers; `serialize()` returns a complete ModelProto as bytes."""

    name: str
    opset: int = 17
    _nodes: list[Message] = field(default_factory=list)
    _initializers: list[Message] = field(default_factory=list)
    _inputs: list[Message] = field(default_factory=list)
    _outputs: list[Message] = field(default_factory=list)
    _count: int = 0

    def input(self, name: str, elem_type: int, shape: tuple[int | str, ...]) -> str:
        self._inputs.append(_value_info(name, elem_type, shape))
        return name

    def output(self, name: str, elem_type: int, shape: tuple[int | str, ...]) -> None:
        self._outputs.append(_value_info(name, elem_type, shape))

    def const(self, name: str, array: np.ndarray) -> str:
        self._initializers.append(tensor_proto(name, array))
        return name

    def node(self, op_type: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        """Add a node with one output; returns the output's name (generated when not given)."""
        self._count += 1
        output = output or f"{op_type.lower()}_{self._count}"
        body: Message = []
        for i in inputs:
            body += _str_field(1, i)
        body += _str_field(2, output) + _str_field(3, f"n{self._count}") + _str_field(4, op_type)
        for key, value in attrs.items():
            body += _len_field(5, _attribute(key, value))
        self._nodes.append(body)
        return output

    def serialize(self) -> bytes:
        graph: Message = []
        for n in self._nodes:
            graph += _len_field(1, n)
        graph += _str_field(2, self.name)
        for t in self._initializers:
            graph += _len_field(5, t)
        for i in self._inputs:
            graph += _len_field(11, i)
        for o in self._outputs:
            graph += _len_field(12, o)
        opset = _len_field(8, _str_field(1, "") + _int_field(2, self.opset))
        model = _int_field(1, IR_VERSION) + _str_field(2, "photomend") + opset + _len_field(7, graph)
        return b"".join(model)
