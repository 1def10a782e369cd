"""Exceptions for unusable invocations and unusable plan files.

Anything wrong *inside a returned workbook* is a Finding (data), never an exception.
Every exception here carries a Chinese message meant for the person at the terminal.
"""

from __future__ import annotations

import errno


class PdreportError(Exception):
    """Base class: ``str(err)`` is a complete Chinese message for the user."""

    exit_code = 2


class UsageError(PdreportError):
    """The command was asked for something that cannot be done (unknown period, missing folder…)."""


class OutputError(PdreportError):
    """An output could not be written (no permission, disk full…); nothing partial is left behind."""

    exit_code = 3


# errno → what it means to someone at an office PC (the system's own text is English)
_OS_ERRORS = {
    errno.ENOSPC: "磁盘空间不足",
    getattr(errno, "EDQUOT", -1): "磁盘空间不足",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.EROFS: "所在磁盘是只读的",
    errno.ENOTDIR: "路径中有一项是文件，不是文件夹",
    errno.EEXIST: "该路径已被一个文件占用，不是文件夹",
    errno.ENAMETOOLONG: "路径过长",
    errno.ENOENT: "路径不存在（其中的文件夹可能已被移动、删除，或无法创建）",
    errno.EISDIR: "这是一个文件夹，不是文件",
    errno.EIO: "读写出错（磁盘或网络盘可能有故障）",
    errno.EBUSY: "文件正被其他程序占用",
    errno.ETXTBSY: "文件正被其他程序占用",
    errno.EMFILE: "同时打开的文件过多",
    errno.ELOOP: "路径中的快捷方式（链接）循环指向自身",
}


def os_error_text(exc: OSError) -> str:
    """Why a file operation failed, in Chinese; an unusual error keeps the system's code after a
    Chinese lead, so that it can still be looked up."""
    said = _OS_ERRORS.get(exc.errno) if exc.errno is not None else None
    if said:
        return said
    detail = f"{exc.errno} {exc.strerror}" if exc.strerror else type(exc).__name__
    return f"系统报告的错误（{detail}）"
