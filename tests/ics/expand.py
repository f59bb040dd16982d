#!/usr/bin/env python3
"""Expands every VEVENT of an .ics file with independent parsers (the
`icalendar` package, `dateutil.rrule`, the OS's zoneinfo), and prints the
periods that overlap [FROM, TO) as JSON: {uid: [[start, end], ...]} in UTC.

Used by crates/api/tests/ics.rs to hold Relcal's iCalendar export to the
engine's own expansion. Durations follow RFC 5545: days and weeks on the wall
clock of the event's zone, hours, minutes and seconds exact.

    python3 expand.py FILE.ics 2026-11-01T00:00:00Z 2027-06-01T00:00:00Z
"""
import json
import sys
from datetime import date, datetime, timedelta, timezone

from dateutil.rrule import rrulestr
from icalendar import Calendar


def utc(dt):
    if isinstance(dt, datetime):
        if dt.tzinfo is None:
            return dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc)
    return datetime(dt.year, dt.month, dt.day, tzinfo=timezone.utc)


def add(start, duration):
    # Nominal days on the wall clock, then the exact rest.
    wall = start + timedelta(days=duration.days)
    return utc(wall) + timedelta(seconds=duration.seconds, microseconds=duration.microseconds)


def main():
    path, lo, hi = sys.argv[1], sys.argv[2], sys.argv[3]
    lo = datetime.fromisoformat(lo.replace("Z", "+00:00"))
    hi = datetime.fromisoformat(hi.replace("Z", "+00:00"))
    with open(path, "rb") as f:
        cal = Calendar.from_ical(f.read())
    out = {}
    for ev in cal.walk("VEVENT"):
        uid = str(ev["UID"])
        start = ev.decoded("DTSTART")
        if "DURATION" in ev:
            duration = ev.decoded("DURATION")
        else:
            duration = ev.decoded("DTEND") - start
        periods = []
        if "RRULE" in ev:
            rule = ev["RRULE"].to_ical().decode()
            excluded = set()
            for ex in ev.get("EXDATE", []) if isinstance(ev.get("EXDATE"), list) else [ev.get("EXDATE")] if ev.get("EXDATE") else []:
                for d in ex.dts:
                    excluded.add(utc(d.dt))
            for occ in rrulestr(rule, dtstart=start):
                if utc(occ) >= hi:
                    break
                if utc(occ) in excluded:
                    continue
                end = add(occ, duration)
                if end > lo:
                    periods.append([utc(occ), end])
        else:
            end = add(start, duration) if isinstance(start, datetime) else utc(start + duration)
            if utc(start) < hi and end > lo:
                periods.append([utc(start), end])
        out[uid] = [[s.strftime("%Y-%m-%dT%H:%M:%SZ"), e.strftime("%Y-%m-%dT%H:%M:%SZ")] for s, e in periods]
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
