"""What a flag's value must satisfy (:class:`Check`: bounds, a comma-separated list, finite floats), declared with
the option (:func:`harness.config.option`) and checked where the flag is parsed, so a bad value ends in one line
before any work (``argument --lr: must be greater than 0, got -1``); :func:`harness.config.check_fields` applies
the same declarations to a config made in Python. The common checks are named here (``SEED``, ``SHARE``, ...).
"""

from __future__ import annotations

import argparse
import math
import operator
import sys
from dataclasses import dataclass
from typing import Any, Callable

MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit


@dataclass(frozen=True)
class Check:
    """What every value of an option must satisfy: bounds (``ge``/``gt``/``le``/``lt``, inclusive or
    strict) and, with ``items`` (the type of an entry), a comma-separated list: blank entries are dropped,
    a repeated entry is used once (with a notice), at least one is needed, and each entry is converted and
    checked. A float must also be finite. A parsed list is its canonical text (entries joined by commas,
    in first-seen order)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    items: Callable[[str], Any] | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` (one value, or one entry of a list) is refused; None when it is fine."""
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, got {value}"
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        for bound, holds, words in ((self.ge, operator.ge, "at least"), (self.gt, operator.gt, "greater than"),
                                    (self.le, operator.le, "at most"), (self.lt, operator.lt, "less than")):
            if bound is not None and not holds(value, bound):
                return f"must be {words} {_number(bound)}{self._range()}, got {_number(value)}"
        return None

    def _range(self) -> str:
        low = f"[{_number(self.ge)}" if self.ge is not None else f"({_number(self.gt)}" if self.gt is not None else None
        high = f"{_number(self.le)}]" if self.le is not None else f"{_number(self.lt)})" if self.lt is not None else None
        return f" (in {low}, {high})" if low and high else ""

    def parse(self, text: str, kind: Callable[[str], Any], flag: str) -> Any:
        """``text`` given for ``flag`` as a checked value (a list: its canonical text); ArgumentTypeError
        (argparse's one-line error) when it is refused."""
        if self.items is None:
            return self._one(text, kind)
        entries = [e.strip() for e in text.split(",") if e.strip()]
        if not entries:
            raise argparse.ArgumentTypeError(f"names nothing (got {text!r})")
        unique = list(dict.fromkeys(entries))
        if len(unique) < len(entries):
            repeated = sorted({e for e in entries if entries.count(e) > 1}, key=entries.index)
            print(f"harness: note: {flag} names {', '.join(repeated)} more than once; each is used once",
                  file=sys.stderr)
        for entry in unique:
            self._one(entry, self.items)
        return ",".join(unique)

    def value_problem(self, value: Any) -> str | None:
        """:meth:`problem` of a value made in Python (a list: its text or a sequence, every entry checked)."""
        if self.items is None:
            return self.problem(value)
        entries = value.split(",") if isinstance(value, str) else list(value)
        try:
            checked = [self._one(str(e).strip(), self.items) for e in entries if str(e).strip()]
        except argparse.ArgumentTypeError as exc:
            return str(exc)
        return None if checked else "names nothing"

    def _one(self, text: str, kind: Callable[[str], Any]) -> Any:
        try:
            value = kind(text)
        except (TypeError, ValueError):
            what = {int: "an integer", float: "a number"}.get(kind, "a valid value")  # type: ignore[call-overload]
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        problem = self.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


NO_CHECK = Check()
AT_LEAST_1 = Check(ge=1)
AT_LEAST_0 = Check(ge=0)
POSITIVE = Check(gt=0)
SEED = Check(ge=0, le=MAX_SEED)
SHARE = Check(ge=0, le=1)  # a share or probability, both ends included
NAMES = Check(items=str)  # a comma-separated list of names
