"""Three fixes to kwok, applied to a copy of its module when it is built.

kwok v0.8.0 plays ``exec`` by running the command on this machine, with two
differences from a kubelet that ``kubectl`` users notice:

* **Exit codes.**  kwok wraps the command's ``*exec.ExitError`` in its own
  error, and the streaming server it uses (``k8s.io/cri-streaming``) only
  recognises an exit code by a type assertion, so ``kubectl exec -- sh -c
  'exit 3'`` ends with "Internal error occurred ... exit status 3" and exit code
  1.  The fix unwraps the exit error into ``k8s.io/utils/exec.CodeExitError``
  (what a kubelet's runtime returns): the streaming server then reports
  ``NonZeroExitCode`` with the code, and kubectl exits with 3.
* **Stdin end.**  kwok copies the client's stdin into the command's stdin pipe
  but never closes the pipe, so a command that reads to the end (``cat``,
  ``tar x``: ``kubectl cp`` into a pod) never finishes.  The fix closes the
  pipe when the client's stdin ends, as a container runtime does.

And one difference from a kubelet that tests notice:

* **Deletes by name only.**  kwok finishes a terminating pod with a delete
  by name and no precondition, and may send it again (a retried or duplicated
  job), so a new pod created under the same name meanwhile is deleted too.  A
  kubelet's final delete carries the pod's UID as a precondition; the fix adds
  it, so a stale delete is refused (409) instead.

Guarantees: :func:`patched_copy` copies the published module (read from the
Go module cache) to a directory of the build cache and changes exactly the
lines below; a hunk that is not found exactly once raises :class:`PatchError`
(so a kwok upgrade fails loudly instead of building unpatched).  The generated
module then builds kwok from that copy (a ``replace`` directive).
:data:`REVISION` changes whenever these fixes change, so a cached kwok is
rebuilt.
"""

from __future__ import annotations

import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

REVISION = "vsyncer.2"


class PatchError(RuntimeError):
    """A fix did not apply to the kwok source: the message names the file."""


@dataclass(frozen=True, slots=True)
class Hunk:
    """Replace ``old`` (which must occur exactly once) by ``new`` in ``path``."""

    path: str
    old: str
    new: str


HUNKS = (
    Hunk(
        path="pkg/kwok/server/debugging_exec.go",
        old="\terr := utilsexec.Exec(ctx, cmd[0], cmd[1:]...)\n\tif err != nil {\n\t\treturn err\n",
        new=(
            "\terr := utilsexec.Exec(ctx, cmd[0], cmd[1:]...)\n"
            "\tif err != nil {\n\t\treturn vsyncerExitCode(err)\n"
        ),
    ),
    Hunk(
        path="pkg/utils/exec/exec.go",
        old="\t\t\t\t_, _ = io.Copy(inPipe, opt.In)\n",
        new="\t\t\t\t_, _ = io.Copy(inPipe, opt.In)\n\t\t\t\t_ = inPipe.Close()\n",
    ),
    Hunk(
        path="pkg/kwok/controllers/pod_controller.go",
        old=(
            "\terr := c.typedClient.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, deleteOpt)\n"
        ),
        new=(
            "\topt := deleteOpt\n"
            "\topt.Preconditions = metav1.NewUIDPreconditions(string(pod.UID))\n"
            "\terr := c.typedClient.CoreV1().Pods(pod.Namespace)"
            ".Delete(ctx, pod.Name, opt)\n"
        ),
    ),
)

#: new files (path in the module → content)
FILES = {
    "pkg/kwok/server/vsyncer_exitcode.go": """\
// Added by vsyncer's build (syncer/localcluster/kwokpatch.py).

package server

import (
	"errors"
	"os/exec"

	utilexec "k8s.io/utils/exec"
)

// vsyncerExitCode turns a command's non-zero exit into the error a container
// runtime returns, so the streaming server reports its exit code.
func vsyncerExitCode(err error) error {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		return utilexec.CodeExitError{Err: err, Code: exitErr.ExitCode()}
	}
	return err
}
""",
}


def apply(text: str, hunk: Hunk) -> str:
    """``text`` with ``hunk`` applied; :class:`PatchError` unless it occurs exactly once."""
    count = text.count(hunk.old)
    if count != 1:
        raise PatchError(f"kwok fix for {hunk.path}: expected text found {count} times, not once")
    return text.replace(hunk.old, hunk.new)


def _writable(tree: Path) -> None:
    """Make every directory under ``tree`` writable by its owner (copytree copies modes)."""
    for directory in (tree, *(p for p in tree.rglob("*") if p.is_dir() and not p.is_symlink())):
        directory.chmod(directory.stat().st_mode | stat.S_IWUSR)


def patched_copy(*, source: Path, target: Path) -> None:
    """Copy the kwok module at ``source`` to ``target`` (replaced) with the fixes applied."""
    if target.exists():
        _writable(target)
        shutil.rmtree(target)
    # copyfile, not copy2: the module cache's files are read-only, the copy must not be.
    shutil.copytree(source, target, copy_function=shutil.copyfile)
    _writable(target)
    for hunk in HUNKS:
        path = target / hunk.path
        path.write_text(apply(path.read_text(), hunk))
    for name, content in FILES.items():
        (target / name).write_text(content)
