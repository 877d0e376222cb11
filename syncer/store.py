"""The store: an indexed cache of one kind's objects, like client-go's Indexer.

Objects are plain dicts, decoded Kubernetes JSON, keyed by
``(metadata.namespace, metadata.name)``; cluster-scoped objects have namespace
``""``.  The reflector writes the store (:meth:`Store.add`, :meth:`Store.delete`,
:meth:`Store.replace`; :meth:`Store.update` is the same as ``add``); everything
else only reads it.

Compact and read-only by construction.  The store keeps each object as its
compact JSON encoding (``bytes``), not as a tree of dicts: a cached pod costs
about its JSON size instead of three to five times that, and ``bytes`` are
invisible to the cyclic garbage collector, so a large cache adds no GC pauses.
Every read (:meth:`Store.get`, :meth:`Store.list`, :meth:`Store.by_index`)
decodes a fresh object and hands it out as a :class:`types.MappingProxyType`
view: nothing a caller does to what it was given can change the cache.  The
object passed to :meth:`Store.add` is returned as a read-only view too (the
informer hands that one to its event handlers).  Call :func:`thaw` for a
mutable deep copy before changing anything.

Compressed once there are enough of them.  When a store first holds
:data:`TRAIN_AT` objects, a zstd dictionary is trained on a sample of them and
every object is re-encoded as a zstd frame against it; training runs again
whenever the store reaches 16 times the size it last trained at, on a sample
of up to 1024 objects.  Objects of one kind share most
of their bytes (field names, images, labels, the CA), so a cached pod shrinks
from kilobytes to a few hundred bytes, and compressing or decompressing one
with a dictionary costs a few microseconds, less than the JSON decode itself.
Training blocks for tens of milliseconds, a number of times logarithmic in the
store's size; if it fails (samples too small or too few), objects keep the
encoding they had (plain JSON before the first success).

Indexes map an object to string values.  ``namespace`` is always present;
:meth:`Store.add_index` adds more (e.g. "configmaps this pod mounts").  Every
index is kept exact through add, update (including updates that change an
object's values), delete and replace, and is back-filled when it is added to a
non-empty store.  Lookups preserve insertion order.  Costs: add/update/delete
are one encode plus O(number of indexes times values per object); a read is
one decode; replace rebuilds everything.
"""

from __future__ import annotations

import builtins
import copy
import json
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import orjson
import zstandard

__all__ = ["NAMESPACE_INDEX", "IndexFunc", "Key", "Obj", "Store", "key_of", "thaw"]

Obj: TypeAlias = Mapping[str, Any]
"""A cached object: read-only at the top level, not to be mutated below it."""

Key: TypeAlias = tuple[str, str]
"""``(namespace, name)``; namespace is ``""`` for cluster-scoped objects."""

IndexFunc: TypeAlias = Callable[[Obj], Iterable[str]]
"""Maps an object to the index values it is filed under (any number, duplicates ignored)."""

NAMESPACE_INDEX: Final = "namespace"

TRAIN_AT: Final = 256
"""A store trains its compression dictionary when it first holds this many objects."""
_RETRAIN_FACTOR: Final = 16
_DICTIONARY_BYTES: Final = 32 * 1024
_MAX_SAMPLES: Final = 1024


def key_of(obj: Obj) -> Key:
    """``(namespace, name)`` from ``obj["metadata"]``; raises ``ValueError`` without a name."""
    metadata = obj.get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"object has no metadata.name: {dict(metadata)!r}")
    namespace = metadata.get("namespace") or ""
    return (namespace, name)


def _namespace_values(obj: Obj) -> tuple[str]:
    return (key_of(obj)[0],)


def _freeze(obj: Obj) -> Obj:
    return obj if isinstance(obj, MappingProxyType) else MappingProxyType(obj)


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _thaw_slow(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _thaw_slow(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw_slow(item) for item in value]
    return copy.deepcopy(value)


def _json(obj: Obj) -> bytes:
    try:
        return orjson.dumps(obj, default=_plain)
    except (orjson.JSONEncodeError, TypeError):
        # Not plain JSON for orjson (e.g. integers beyond 64 bits): the standard library copes.
        return json.dumps(_thaw_slow(obj), separators=(",", ":")).encode()


def _parse(raw: bytes) -> Obj:
    try:
        return MappingProxyType(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return MappingProxyType(json.loads(raw))


def _compress(compressor: zstandard.ZstdCompressor, raw: bytes) -> bytes:
    # zstandard allocates the worst-case output size and keeps that allocation:
    # copy the frame into an exactly sized object before it is kept.
    return memoryview(compressor.compress(raw)).tobytes()


class _Codec:
    """One store's encoding: plain JSON until a dictionary is trained, then zstd frames.

    Every stored value is either JSON (an object, so its first byte is ``{``)
    or a zstd frame (first byte ``0x28``) made with this codec's dictionary.
    """

    __slots__ = ("_compressor", "_decompressor", "next_training")

    def __init__(self) -> None:
        self._compressor: zstandard.ZstdCompressor | None = None
        self._decompressor: zstandard.ZstdDecompressor | None = None
        self.next_training = TRAIN_AT

    @property
    def trained(self) -> bool:
        return self._compressor is not None

    def encode(self, obj: Obj) -> bytes:
        raw = _json(obj)
        return raw if self._compressor is None else _compress(self._compressor, raw)

    def json(self, data: bytes) -> bytes:
        if data[:1] == b"{" or self._decompressor is None:
            return data
        return self._decompressor.decompress(data)

    def decode(self, data: bytes) -> Obj:
        return _parse(self.json(data))

    def retrained(self, items: dict[Key, bytes]) -> dict[Key, bytes] | None:
        """``items`` re-encoded with a dictionary trained on them; ``None`` if training failed."""
        size = len(items)
        self.next_training = size * _RETRAIN_FACTOR
        values = list(items.values())
        step = max(1, len(values) // _MAX_SAMPLES)
        samples: list[bytes | bytearray | memoryview[int]] = [self.json(v) for v in values[::step]]
        try:
            dictionary = zstandard.train_dictionary(_DICTIONARY_BYTES, samples, level=1)
        except zstandard.ZstdError:
            return None
        compressor = zstandard.ZstdCompressor(
            level=1, dict_data=dictionary, write_checksum=False, write_dict_id=False
        )
        recoded = {key: _compress(compressor, self.json(v)) for key, v in items.items()}
        self._compressor = compressor
        self._decompressor = zstandard.ZstdDecompressor(dict_data=dictionary)
        return recoded


def thaw(obj: Obj) -> dict[str, Any]:
    """A mutable deep copy of a cached object, safe to change and send to the API."""
    try:
        copied: dict[str, Any] = orjson.loads(orjson.dumps(obj, default=_plain))
    except (orjson.JSONEncodeError, TypeError):
        # Not plain JSON (e.g. integers beyond 64 bits): copy the slow way.
        return dict(_thaw_slow(obj))
    return copied


class Store:
    """A keyed, indexed, read-only cache of one kind's objects."""

    def __init__(self) -> None:
        self.resource_version = ""
        """The resourceVersion of the last list or watch event applied; ``""`` before any."""
        self._items: dict[Key, bytes] = {}
        self._codec = _Codec()
        self._indexers: dict[str, IndexFunc] = {}
        # index name -> value -> keys filed under it (a dict used as an ordered set)
        self._indices: dict[str, dict[str, dict[Key, None]]] = {}
        # index name -> key -> the values the key is filed under now
        self._filed: dict[str, dict[Key, tuple[str, ...]]] = {}
        self.add_index(NAMESPACE_INDEX, _namespace_values)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def add(self, obj: Obj) -> Obj:
        """Insert or replace ``obj``; return it as a read-only view."""
        key = key_of(obj)
        self._items[key] = self._codec.encode(obj)
        if len(self._items) >= self._codec.next_training:
            self._train()
        frozen = _freeze(obj)
        for index_name, fn in self._indexers.items():
            self._file(index_name, key, _values(fn, frozen))
        return frozen

    def update(self, obj: Obj) -> Obj:
        """Same as :meth:`add`: the store does not distinguish new from changed objects."""
        return self.add(obj)

    def delete(self, obj: Obj) -> Obj | None:
        """Remove the object with ``obj``'s key; return what was cached, if anything."""
        key = key_of(obj)
        cached = self._items.pop(key, None)
        if cached is None:
            return None
        for index_name in self._indexers:
            self._file(index_name, key, ())
        return self._codec.decode(cached)

    def get(self, namespace: str, name: str) -> Obj | None:
        """The cached object (a fresh read-only decode), or ``None``."""
        raw = self._items.get((namespace, name))
        return None if raw is None else self._codec.decode(raw)

    def list(self) -> builtins.list[Obj]:
        """Every cached object."""
        decode = self._codec.decode
        return [decode(raw) for raw in self._items.values()]

    @property
    def compressed(self) -> bool:
        """Whether objects are kept as zstd frames (a dictionary has been trained)."""
        return self._codec.trained

    def stored_bytes(self) -> int:
        """The bytes of the cached encodings (what the objects themselves cost)."""
        return sum(len(raw) for raw in self._items.values())

    def _train(self) -> None:
        recoded = self._codec.retrained(self._items)
        if recoded is not None:
            self._items = recoded

    def keys(self) -> builtins.list[Key]:
        """Every cached key."""
        return list(self._items)

    def replace(self, objs: Iterable[Obj], resource_version: str) -> builtins.list[Obj]:
        """Make the store hold exactly ``objs``; return the cached objects that vanished.

        The reflector calls this after a (re)list, and emits a delete for each
        returned object.  Indexes are rebuilt.  Duplicate keys: the last wins.
        """
        fresh: dict[Key, Obj] = {}
        for obj in objs:
            fresh[key_of(obj)] = obj
        decode = self._codec.decode
        vanished = [decode(raw) for key, raw in self._items.items() if key not in fresh]
        encode = self._codec.encode
        self._items = {key: encode(obj) for key, obj in fresh.items()}
        if len(self._items) >= self._codec.next_training:
            self._train()
        self._rebuild(self._indexers, fresh)
        self.resource_version = resource_version
        return vanished

    def add_index(self, name: str, fn: IndexFunc) -> None:
        """Add index ``name``; objects already cached are filed at once."""
        if name in self._indexers:
            raise ValueError(f"index {name!r} already exists")
        self._indexers[name] = fn
        decode = self._codec.decode
        self._rebuild([name], {key: decode(raw) for key, raw in self._items.items()})

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        """The objects filed under ``value`` in index ``name``."""
        decode = self._codec.decode
        return [decode(self._items[key]) for key in self._bucket(name, value)]

    def keys_by_index(self, name: str, value: str) -> builtins.list[Key]:
        """The keys of the objects filed under ``value`` in index ``name``."""
        return list(self._bucket(name, value))

    def has_indexed(self, name: str, value: str) -> bool:
        """Whether any object is filed under ``value`` in index ``name`` (O(1))."""
        return bool(self._bucket(name, value))

    def index_values(self, name: str) -> builtins.list[str]:
        """Every value with at least one object in index ``name``."""
        return list(self._index(name))

    def _index(self, name: str) -> dict[str, dict[Key, None]]:
        try:
            return self._indices[name]
        except KeyError:
            raise KeyError(f"no index named {name!r}") from None

    def _bucket(self, name: str, value: str) -> dict[Key, None]:
        return self._index(name).get(value) or {}

    def _file(self, index_name: str, key: Key, values: tuple[str, ...]) -> None:
        """File ``key`` under exactly ``values`` in index ``index_name``."""
        filed = self._filed[index_name]
        old = filed.get(key, ())
        if old == values:
            return
        index = self._indices[index_name]
        for value in old:
            if value not in values:
                bucket = index[value]
                del bucket[key]
                if not bucket:
                    del index[value]
        for value in values:
            if value not in old:
                index.setdefault(value, {})[key] = None
        if values:
            filed[key] = values
        else:
            del filed[key]

    def _rebuild(self, index_names: Iterable[str], objs: Mapping[Key, Obj]) -> None:
        """Rebuild these indexes, object by object (index functions may share work per object)."""
        indexers = [(name, self._indexers[name]) for name in index_names]
        for index_name, _ in indexers:
            self._indices[index_name] = {}
            self._filed[index_name] = {}
        for key, obj in objs.items():
            frozen = _freeze(obj)
            for index_name, fn in indexers:
                self._file(index_name, key, _values(fn, frozen))


def _values(fn: IndexFunc, obj: Obj) -> tuple[str, ...]:
    return tuple(dict.fromkeys(fn(obj)))
