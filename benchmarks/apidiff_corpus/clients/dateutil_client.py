"""Date parsing with python-dateutil."""

from datetime import datetime

from dateutil import parser, relativedelta, rrule, tz


def check_parse():
    assert parser.parse("2024-02-29T10:00:00Z").tzinfo is not None
    assert parser.isoparse("2024-02-29").day == 29


def check_relative():
    later = datetime(2024, 1, 31) + relativedelta.relativedelta(months=1)
    assert later.day == 29
    assert tz.gettz("UTC") is not None


def check_rrule():
    days = list(rrule.rrule(rrule.DAILY, count=3, dtstart=datetime(2024, 1, 1)))
    assert len(days) == 3
