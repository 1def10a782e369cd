"""Errors in the report templates, said in Chinese with the line they are on.

The office edits the wording in ``templates/*.md.j2``; jinja2 reports a mistake there in English
("expected token 'end of print statement', got 'b'"). The usual ones are translated here; anything
else keeps jinja2's text after a Chinese lead, so nothing is lost.
"""

from __future__ import annotations

import re

import jinja2
from jinja2.sandbox import SecurityError

_BLOCK = {"for": "循环", "if": "条件", "macro": "宏", "block": "块", "set": "赋值", "raw": "原样"}


def _block(name: str) -> str:
    return f"{{% {name} %}}（{_BLOCK.get(name, '块')}）"


# (pattern on jinja2's message, Chinese; groups are filled in with str.format)
_SAID: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"'([^']+)' is undefined"), "使用了不存在的变量“{0}”；可用变量见 templates/README.md"),
    (re.compile(r"'?([^']+?)'? has no attribute '([^']+)'"), "变量中没有“{1}”这一项；可用变量见 templates/README.md"),
    (re.compile(r"(.+?) has no element (.+)"), "变量中没有第 {1} 项（或没有“{1}”这一项）"),
    (re.compile(r"Unexpected end of template\. .*needs to be closed is '(\w+)'", re.S),
     "模板结束了，但 {block0}还没有结束；请补上 {{% end{0} %}}"),
    (re.compile(r"Encountered unknown tag '(\w+)'\. .*needs to be closed is '(\w+)'", re.S),
     "这里的 {{% {0} %}} 与前面未结束的 {block1}对不上；应先用 {{% end{1} %}} 结束它"),
    (re.compile(r"Encountered unknown tag '(\w+)'"), "无法识别的标记 {{% {0} %}}"),
    (re.compile(r"expected token '([^']+)', got '([^']+)'"),
     "此处应为“{0}”，却是“{1}”（可能少了 }}}} 或 %}}、运算符或引号）"),
    (re.compile(r"Expected an expression, got '([^']+)'"), "此处缺少条件或变量（标记中是空的？）"),
    (re.compile(r"unexpected end of template"), "模板在标记中间结束了（少了 }}}} 或 %}}）"),
    (re.compile(r"unexpected '([^']+)'"), "多余或位置不对的“{0}”"),
    (re.compile(r"Missing end of comment tag"), "注释缺少结尾的 #}}"),
    (re.compile(r"No filter named '([^']+)'"), "没有名为“{0}”的过滤器"),
    (re.compile(r"No test named '([^']+)'"), "没有名为“{0}”的判断"),
    (re.compile(r"'([^']+)' object is not callable"), "“{0}”类型的值不能调用（多写了括号？）"),
]


def explain(exc: BaseException) -> str:
    """What went wrong, in Chinese (jinja2's own text appended when it is not translated)."""
    if isinstance(exc, SecurityError):
        return "出于安全考虑，报告模板不能访问内部属性或函数"
    if isinstance(exc, ZeroDivisionError):
        return "计算时除数为 0"
    if isinstance(exc, UnicodeDecodeError):
        return "文件不是 UTF-8 编码，请用文本编辑器另存为 UTF-8 后再运行"
    message = getattr(exc, "message", None) or str(exc)
    for pattern, said in _SAID:
        m = pattern.search(message)
        if m:
            groups = m.groups()
            blocks = {f"block{i}": _block(g) for i, g in enumerate(groups)}
            return said.format(*groups, **blocks)
    return f"无法生成（{type(exc).__name__}：{message}）"


def line_of(exc: BaseException, name: str) -> int | None:
    """The template line an error is on: jinja2 gives it for a syntax error, and for an error
    while rendering puts the template's own line into the traceback."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
        return exc.lineno
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.replace("\\", "/").endswith("/" + name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def template_error_text(exc: BaseException, name: str) -> str:
    line = line_of(exc, name)
    where = f"报告模板 {name}" + (f" 第 {line} 行" if line else "")
    return f"{where}：{explain(exc)}"
