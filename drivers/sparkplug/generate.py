"""Compile ``sparkplug_b.proto`` into ``sparkplug_b_pb2.py`` with grpcio-tools' protoc.

``python -m drivers.sparkplug.generate`` rewrites the committed module next to the
``.proto``; :func:`generate` writes it into any directory (the test compiles into a
temporary one and compares). grpcio-tools is a development dependency: nothing at run
time imports this module.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO = HERE / "sparkplug_b.proto"
MODULE = "sparkplug_b_pb2.py"


class GenerateError(RuntimeError):
    """protoc failed (its exit status and the .proto are in the message)."""


def generate(out_dir: Path) -> Path:
    """Compile :data:`PROTO` into ``out_dir``; the path of the generated module.

    protoc runs in a child process (``python -m grpc_tools.protoc``): grpcio-tools carries
    its own C++ protobuf, which aborts a process that has already loaded another one
    (OR-Tools' does, in the test session)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "grpc_tools.protoc", f"--proto_path={PROTO.parent}",
            f"--python_out={out_dir}", str(PROTO)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GenerateError(
            f"protoc exited with {done.returncode} compiling {PROTO}: {done.stderr.strip()}"
        )
    return out_dir / MODULE


def main() -> int:
    """Regenerate the committed module in place."""
    path = generate(HERE)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
