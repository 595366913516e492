from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Moments(_message.Message):
    __slots__ = ("count", "mean", "m2")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    M2_FIELD_NUMBER: _ClassVar[int]
    count: int
    mean: float
    m2: float
    def __init__(self, count: _Optional[int] = ..., mean: _Optional[float] = ..., m2: _Optional[float] = ...) -> None: ...

class Minimum(_message.Message):
    __slots__ = ("value", "argmin")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ARGMIN_FIELD_NUMBER: _ClassVar[int]
    value: float
    argmin: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, value: _Optional[float] = ..., argmin: _Optional[_Iterable[float]] = ...) -> None: ...

class Histogram(_message.Message):
    __slots__ = ("lo", "hi", "counts", "below", "above")
    LO_FIELD_NUMBER: _ClassVar[int]
    HI_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    BELOW_FIELD_NUMBER: _ClassVar[int]
    ABOVE_FIELD_NUMBER: _ClassVar[int]
    lo: float
    hi: float
    counts: _containers.RepeatedScalarFieldContainer[int]
    below: int
    above: int
    def __init__(self, lo: _Optional[float] = ..., hi: _Optional[float] = ..., counts: _Optional[_Iterable[int]] = ..., below: _Optional[int] = ..., above: _Optional[int] = ...) -> None: ...

class BlockStats(_message.Message):
    __slots__ = ("block", "samples", "moments", "minima", "counts", "histograms")
    class MomentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Moments
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Moments, _Mapping]] = ...) -> None: ...
    class MinimaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Minimum
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Minimum, _Mapping]] = ...) -> None: ...
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class HistogramsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Histogram
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Histogram, _Mapping]] = ...) -> None: ...
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    MOMENTS_FIELD_NUMBER: _ClassVar[int]
    MINIMA_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    HISTOGRAMS_FIELD_NUMBER: _ClassVar[int]
    block: int
    samples: int
    moments: _containers.MessageMap[str, Moments]
    minima: _containers.MessageMap[str, Minimum]
    counts: _containers.ScalarMap[str, int]
    histograms: _containers.MessageMap[str, Histogram]
    def __init__(self, block: _Optional[int] = ..., samples: _Optional[int] = ..., moments: _Optional[_Mapping[str, Moments]] = ..., minima: _Optional[_Mapping[str, Minimum]] = ..., counts: _Optional[_Mapping[str, int]] = ..., histograms: _Optional[_Mapping[str, Histogram]] = ...) -> None: ...
