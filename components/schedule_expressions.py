"""The schedule expressions Application Auto Scaling accepts, checked the way AWS documents them.

botocore states only that `Schedule` is 1-1600 printable characters; the grammar is in AWS's prose:

- PutScheduledAction's `Schedule`: "At expressions - `at(yyyy-mm-ddThh:mm:ss)`", "Rate expressions -
  `rate(value unit)`", "Cron expressions - `cron(fields)`" (Application Auto Scaling API Reference, and botocore's
  own documentation of the member).
- Cron: "six fields separated by white spaces: [Minutes] [Hours] [Day_of_Month] [Month] [Day_of_Week] [Year]"
  (Application Auto Scaling User Guide, "Schedule recurring scaling actions using cron expressions"), with the
  values and wildcards of the cron expressions reference it points to (EventBridge, "Cron expressions reference"):
  Minutes 0-59 `, - * /`; Hours 0-23 `, - * /`; Day-of-month 1-31 `, - * ? / L W`; Month 1-12 or JAN-DEC
  `, - * /`; Day-of-week 1-7 or SUN-SAT `, - * ? L #`; Year 1970-2199 `, - * /`; and "You can't specify the
  Day-of-month and Day-of-week fields in the same cron expression. If you specify a value or a * in one of the
  fields, you must use a ? in the other."
- Rate (EventBridge, "Rate expressions reference"): a positive whole number and one of minute | minutes | hour |
  hours | day | days, singular for 1 and plural above it.

`problems()` answers the sentences that say what is wrong, empty when AWS would accept the expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_AT = re.compile(r"at\((.*)\)", flags=re.ASCII | re.DOTALL)
_RATE = re.compile(r"rate\((.*)\)", flags=re.ASCII | re.DOTALL)
_CRON = re.compile(r"cron\((.*)\)", flags=re.ASCII | re.DOTALL)
_AT_FORMAT = "%Y-%m-%dT%H:%M:%S"
_AT_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", flags=re.ASCII)
_RATE_UNITS = {"minute": "minutes", "hour": "hours", "day": "days"}
_NUMBER = re.compile(r"[0-9]+", flags=re.ASCII)

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

FORMS = "at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(minutes hours day-of-month month day-of-week year)"


@dataclass(frozen=True)
class CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    question: bool = False
    """`?` (any) is allowed: the two day fields only."""

    def value(self, text: str) -> int | None:
        upper = text.upper()
        if upper in self.names:
            return self.low + self.names.index(upper)
        if _NUMBER.fullmatch(text) and self.low <= int(text) <= self.high:
            return int(text)
        return None


_FIELDS = (
    CronField("minutes", 0, 59),
    CronField("hours", 0, 23),
    CronField("day-of-month", 1, 31, question=True),
    CronField("month", 1, 12, MONTHS),
    CronField("day-of-week", 1, 7, WEEKDAYS, question=True),
    CronField("year", 1970, 2199),
)
_DAY_OF_MONTH, _DAY_OF_WEEK = 2, 4


def problems(expression: str) -> list[str]:
    """What is wrong with `expression` as an Application Auto Scaling schedule, in sentences."""
    for pattern, check in ((_AT, _at_problems), (_RATE, _rate_problems), (_CRON, _cron_problems)):
        match = pattern.fullmatch(expression)
        if match:
            return check(match.group(1))
    return [f"is not a schedule expression: use {FORMS}"]


def _at_problems(body: str) -> list[str]:
    if _AT_SHAPE.fullmatch(body):
        try:
            datetime.strptime(body, _AT_FORMAT)
            return []
        except ValueError:
            pass
    return [f"has at({body}), which is not a date and time: use at(yyyy-mm-ddThh:mm:ss), e.g. at(2027-01-04T08:00:00)"]


def _rate_problems(body: str) -> list[str]:
    parts = body.split(" ")
    if len(parts) == 2 and _NUMBER.fullmatch(parts[0]) and int(parts[0]) > 0:
        value, unit = int(parts[0]), parts[1]
        singular = next((one for one, many in _RATE_UNITS.items() if unit in (one, many)), None)
        if singular is not None:
            wanted = singular if value == 1 else _RATE_UNITS[singular]
            if unit == wanted:
                return []
            return [f"has rate({body}): with the value {value} the unit is {wanted!r}"]
    units = " | ".join(f"{one} | {many}" for one, many in _RATE_UNITS.items())
    return [f"has rate({body}): use rate(value unit) with a positive whole value and a unit of {units}"]


def _cron_problems(body: str) -> list[str]:
    fields = body.split()
    if len(fields) != len(_FIELDS) or body != " ".join(fields):
        names = " ".join(field.name for field in _FIELDS)
        return [f"has cron({body}) with {len(fields)} fields: use six, separated by single spaces ({names})"]
    found = [sentence for field, text in zip(_FIELDS, fields, strict=True) for sentence in _field_problems(field, text)]
    day_of_month, day_of_week = fields[_DAY_OF_MONTH], fields[_DAY_OF_WEEK]
    if not found and (day_of_month == "?") == (day_of_week == "?"):
        found.append(
            f"has cron({body}): give one of day-of-month ({day_of_month}) and day-of-week ({day_of_week}) "
            "and '?' in the other"
        )
    return found


def _field_problems(field: CronField, text: str) -> list[str]:
    if text == "?" and field.question:
        return []
    if all(_item_ok(field, item) for item in text.split(",")):
        return []
    allowed = f"{field.low}-{field.high}" + (f" or {field.names[0]}-{field.names[-1]}" if field.names else "")
    return [f"has {field.name} {text!r}: use {allowed} with the wildcards AWS allows there"]


def _item_ok(field: CronField, item: str) -> bool:
    if item == "*":
        return True
    if field.name == "day-of-month" and (item in ("L", "LW") or (item.endswith("W") and field.value(item[:-1]))):
        return True
    if field.name == "day-of-week":
        if item == "L" or (item.endswith("L") and field.value(item[:-1]) is not None):
            return True
        if "#" in item:
            day, _, nth = item.partition("#")
            return field.value(day) is not None and nth in ("1", "2", "3", "4", "5")
    start, slash, step = item.partition("/")
    if slash and (field.name == "day-of-week" or not (_NUMBER.fullmatch(step) and int(step) > 0)):
        return False
    if slash and start == "*":
        return True
    low, dash, high = start.partition("-")
    if field.value(low) is None:
        return False
    return not dash or field.value(high) is not None
