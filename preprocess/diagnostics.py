"""Diagnostics and fixes as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Edit:
    """Replace the text from (line, column) to (end_line, end_column), 1-based, end exclusive."""

    content: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Fix:
    message: str
    edits: tuple[Edit, ...]
    applicability: str = "safe"


@dataclass
class Diagnostic:
    code: str
    name: str
    message: str
    severity: str
    path: str
    line: int
    column: int  # 1-based
    end_line: int
    end_column: int  # 1-based, exclusive
    fix: Fix | None = None
    #: physical lines of the statement (where ``! noqa`` is honoured)
    noqa_lines: tuple[int, int] | None = None

    def sort_key(self):
        return (self.path, self.line, self.column, self.code, self.message)

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.fix is not None:
            d["fix"]["edits"] = [asdict(e) for e in self.fix.edits]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Diagnostic:
        d = dict(d)
        fx = d.get("fix")
        if fx:
            d["fix"] = Fix(fx["message"], tuple(Edit(**e) for e in fx["edits"]), fx.get("applicability", "safe"))
        if d.get("noqa_lines") is not None:
            d["noqa_lines"] = tuple(d["noqa_lines"])
        return cls(**d)


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    parsed: bool = False
    cached: bool = False
