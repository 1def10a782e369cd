"""Atomic output writes: a temp file in the target folder, then ``os.replace``.

A reader (or a run killed half-way) sees either the previous file or the new one,
never a truncated file. Failures become ``OutputError`` with a Chinese message.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import OutputError


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".~", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(_message(path, exc)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(_message(path, exc)) from None
    return path


def _message(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        reason = "磁盘空间不足"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "没有写入权限"
    else:
        reason = exc.strerror or exc.__class__.__name__
    return f"无法写入输出文件 {path}：{reason}。请换一个输出目录（-o）或清理空间后重试；输入文件未受影响。"
