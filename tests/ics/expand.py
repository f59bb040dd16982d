#!/usr/bin/env python3
"""An independent reading of an .ics file, the way a calendar client reads it.

Expands every VEVENT with other parsers than Relcal's (the `icalendar`
package for the file, `dateutil.rrule` for RRULEs) and, for local times, the
file's own VTIMEZONE bodies: each STANDARD/DAYLIGHT observance's DTSTART,
RRULE and RDATE give the zone's offset changes, and a wall-clock time is
placed with them as RFC 5545 says (in a gap, the offset before it; twice, the
first). No IANA database is consulted, so a VTIMEZONE that stops too early or
has a wrong rule shows up as a wrong occurrence.

DTSTART is the first instance (RFC 5545 §3.8.5.3) unless an EXDATE names it;
COUNT counts it. Durations: days and weeks on the wall clock, the rest exact.

Prints the periods that overlap [FROM, TO) as JSON {uid: [[start, end], ...]}
in UTC:

    python3 expand.py FILE.ics 2026-11-01T00:00:00Z 2027-06-01T00:00:00Z
"""
import bisect
import json
import re
import sys
from datetime import datetime, timedelta, timezone

from dateutil.rrule import rrulestr
from icalendar import Calendar

UTC = timezone.utc


def naive(value):
    """The raw date-time of a property, without any zone icalendar attached."""
    dt = value.dt
    return dt.replace(tzinfo=None) if isinstance(dt, datetime) else datetime(dt.year, dt.month, dt.day)


class VTimezone:
    """A zone as its VTIMEZONE body describes it."""

    def __init__(self, component, until):
        self.changes = []  # (utc instant, offset after), sorted
        for obs in component.subcomponents:
            if obs.name not in ("STANDARD", "DAYLIGHT"):
                continue
            before = obs.decoded("TZOFFSETFROM")
            after = obs.decoded("TZOFFSETTO")
            start = naive(obs["DTSTART"])
            onsets = [start]
            if "RRULE" in obs:
                parts = dict(p.split("=", 1) for p in obs["RRULE"].to_ical().decode().split(";"))
                # UNTIL is UTC: an onset's instant is its wall time less TZOFFSETFROM.
                last = None
                if "UNTIL" in parts:
                    last = datetime.strptime(parts.pop("UNTIL").rstrip("Z"), "%Y%m%dT%H%M%S")
                r = rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=start, ignoretz=True)
                onsets = []
                for t in r:
                    if t > until or (last is not None and t - before > last):
                        break
                    onsets.append(t)
            for rdate in obs.get("RDATE", []) if isinstance(obs.get("RDATE"), list) else ([obs["RDATE"]] if "RDATE" in obs else []):
                onsets.extend(naive(d) for d in rdate.dts)
            for wall in onsets:
                # An onset is local time in the offset before it.
                self.changes.append(((wall - before).replace(tzinfo=UTC), after, before))
        self.changes.sort(key=lambda c: c[0])
        self.instants = [c[0] for c in self.changes]
        if not self.changes:
            raise ValueError(f"VTIMEZONE {component.get('TZID')} has no observance")

    def offset_at(self, instant):
        i = bisect.bisect_right(self.instants, instant) - 1
        if i < 0:
            return self.changes[0][2]  # before the first onset: its TZOFFSETFROM
        return self.changes[i][1]

    def to_utc(self, wall):
        offsets = sorted({c[1] for c in self.changes} | {c[2] for c in self.changes})
        fits = sorted((wall - o).replace(tzinfo=UTC) for o in offsets if self.offset_at((wall - o).replace(tzinfo=UTC)) == o)
        if fits:
            return fits[0]  # occurs twice: the first instant
        # In a gap: the offset in force before it.
        before = self.offset_at((wall - timedelta(days=1)).replace(tzinfo=UTC))
        return (wall - before).replace(tzinfo=UTC)


def main():
    path, lo, hi = sys.argv[1], sys.argv[2], sys.argv[3]
    lo = datetime.fromisoformat(lo.replace("Z", "+00:00"))
    hi = datetime.fromisoformat(hi.replace("Z", "+00:00"))
    with open(path, "rb") as f:
        data = f.read()
    cal = Calendar.from_ical(data)
    # The DURATION text as written, by UID: the parser turns PT24H into a
    # timedelta of one day, and that is P1D, a calendar day, to RFC 5545.
    raw_durations, uid, duration_text = {}, None, None
    for line in data.decode().replace("\r\n ", "").replace("\r\n\t", "").split("\r\n"):
        if line == "BEGIN:VEVENT":
            uid, duration_text = None, None
        elif line.startswith("UID:"):
            uid = line[4:]
        elif line.startswith("DURATION:"):
            duration_text = line[9:]
        elif line == "END:VEVENT" and uid is not None and duration_text is not None:
            raw_durations[uid] = duration_text
    limit = hi.replace(tzinfo=None) + timedelta(days=2)
    zones = {str(tz["TZID"]): VTimezone(tz, limit) for tz in cal.walk("VTIMEZONE")}

    def placer(prop):
        """(wall-clock value, function from wall clock to UTC) of a DATE-TIME property."""
        tzid = prop.params.get("TZID")
        raw = prop.to_ical().decode()
        wall = naive(prop)
        if tzid is not None:
            if tzid not in zones:
                raise ValueError(f"TZID {tzid} has no VTIMEZONE in the file")
            return wall, zones[tzid].to_utc
        if raw.endswith("Z"):
            return wall, lambda w: w.replace(tzinfo=UTC)
        if len(raw) == 8:  # a DATE: all day, floating; read as UTC days
            return wall, lambda w: w.replace(tzinfo=UTC)
        raise ValueError(f"floating time {raw} without TZID")

    def end_of(wall, duration, place):
        days, exact = duration
        return place(wall + timedelta(days=days)) + exact

    out = {}
    for ev in cal.walk("VEVENT"):
        uid = str(ev["UID"])
        start, place = placer(ev["DTSTART"])
        if "DURATION" in ev:
            # Read the text: a timedelta would make PT24H a calendar day.
            text = raw_durations[uid]
            m = re.fullmatch(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text)
            if not m:
                raise ValueError(f"DURATION {text}")
            w, d, h, mi, se = (int(x or 0) for x in m.groups())
            duration = (w * 7 + d, timedelta(hours=h, minutes=mi, seconds=se))
        else:
            end, place_end = placer(ev["DTEND"])
            duration = None
        periods = []
        if "RRULE" in ev:
            rule = ev["RRULE"].to_ical().decode()
            excluded = set()
            exdates = ev.get("EXDATE", [])
            for ex in exdates if isinstance(exdates, list) else [exdates]:
                for d in ex.dts:
                    excluded.add(naive(d))
            # RFC 5545: DTSTART is the first instance and COUNT counts it.
            count = None
            parts = dict(p.split("=", 1) for p in rule.split(";"))
            if "COUNT" in parts:
                count = int(parts.pop("COUNT"))
            until = None
            if "UNTIL" in parts:
                until = datetime.strptime(parts.pop("UNTIL").rstrip("Z"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            bare = ";".join(f"{k}={v}" for k, v in parts.items())
            series = rrulestr(bare, dtstart=start, ignoretz=True)
            walls = [start]
            n = 1
            for occ in series:
                if count is not None and n >= count:
                    break
                if place(occ) >= hi + timedelta(days=1):
                    break
                if occ == start:
                    continue
                if until is not None and place(occ) > until:
                    break
                walls.append(occ)
                n += 1
            for occ in walls:
                if occ in excluded:
                    continue
                s, e = place(occ), end_of(occ, duration, place)
                if s < hi and e > lo:
                    periods.append([s, e])
        else:
            s = place(start)
            e = end_of(start, duration, place) if duration is not None else place_end(end)
            if s < hi and e > lo:
                periods.append([s, e])
        out[uid] = [[s.strftime("%Y-%m-%dT%H:%M:%SZ"), e.strftime("%Y-%m-%dT%H:%M:%SZ")] for s, e in periods]
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
