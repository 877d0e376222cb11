"""The built-in mappers' test doubles: the public in-memory context plus pods' token Secrets.

:class:`Fake` is :class:`syncer.kit.testing.FakeContext` with one test-only
addition: token Secrets of pods pass the host writer under their own ownership
rule (:func:`mappers.tokens.token_secret_owner`), as the real host writer
must let them; and the host secrets cache the pods mapper declares in
``host_reads`` runs by default, as the wiring runs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mappers.tokens import token_secret_owner
from syncer.api import SECRETS, Resource
from syncer.kit.testing import TRANSLATOR, FakeCache, FakeContext, foreign, host_copy

__all__ = [
    "WORKLOAD",
    "Fake",
    "FakeCache",
    "Json",
    "T",
    "foreign",
    "host_copy",
    "pod_calls",
    "pod_created",
]

Json = dict[str, Any]
T = TRANSLATOR
#: The host workload service account a pods mapper makes sure of before its first
#: host pod (:mod:`mappers.workloadsa`, tested on its own).
WORKLOAD = f"vc-workload-{T.vcluster}"


def pod_calls(fake: FakeContext) -> list[tuple[str, str, str]]:
    """``fake.calls`` without the workload service account's GET and create."""
    return [call for call in fake.calls if call[2] != WORKLOAD]


def pod_created(fake: FakeContext) -> list[Json]:
    """``fake.host.created`` without the workload service account."""
    return [obj for obj in fake.host.created if obj["metadata"]["name"] != WORKLOAD]


def _token_secret(resource: Resource, obj: Mapping[str, Any]) -> bool:
    return resource == SECRETS and token_secret_owner(T, obj) is not None


class Fake(FakeContext):
    """A SyncContext over fake caches; ``calls`` lists the writes a reconcile made."""

    def __init__(
        self,
        *,
        virtual: Mapping[str, list[Json]] | None = None,
        host: Mapping[str, list[Json]] | None = None,
        host_live: list[Json] | None = None,
        enabled: Iterable[Resource] | None = None,
        reads: Iterable[Resource] | None = None,
        host_reads: Iterable[Resource] = (SECRETS,),
    ) -> None:
        super().__init__(
            virtual=virtual,
            host=host,
            host_live=host_live,
            also_owned=_token_secret,
            enabled=enabled,
            reads=reads,
            host_reads=host_reads,
        )
