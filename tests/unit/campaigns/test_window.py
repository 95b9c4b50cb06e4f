"""Send windows in the lead's zone across the daylight-saving changes of 2026: New York
(spring forward 8 March, fall back 1 November) and Sydney (autumn 5 April, spring
4 October). A 09:00-17:00 weekday window opens at 09:00 local on each side of a change,
so at another UTC instant; the spring gap and the autumn fold follow the documented
wall-clock rules; the engine sends nothing outside a window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_domain.campaigns.window import SendWindow
from lad_domain.shared.errors import ValidationFailed
from tests.examples import scaled
from tests.unit.campaigns.world import HELLO, World, local

NY, SYDNEY = "America/New_York", "Australia/Sydney"
WORKDAYS = SendWindow()  # Monday to Friday, 09:00 to 17:00
NIGHT = SendWindow(days=frozenset(range(7)), start=time(2, 30), end=time(4))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


#: (zone, the Friday before a change and its opening, the Monday after and its opening),
#: all in UTC: the offset of each side differs by an hour.
CHANGES = [
    pytest.param(NY, utc(2026, 3, 6, 14), utc(2026, 3, 9, 13), id="new-york-spring-forward"),
    pytest.param(NY, utc(2026, 10, 30, 13), utc(2026, 11, 2, 14), id="new-york-fall-back"),
    pytest.param(SYDNEY, utc(2026, 4, 2, 22), utc(2026, 4, 5, 23), id="sydney-autumn"),
    pytest.param(SYDNEY, utc(2026, 10, 1, 23), utc(2026, 10, 4, 22), id="sydney-spring"),
]


@pytest.mark.parametrize(("tz", "friday", "monday"), CHANGES)
def test_the_window_opens_at_nine_local_on_each_side_of_a_change(
        tz: str, friday: datetime, monday: datetime) -> None:
    assert local(friday, tz).time() == time(9) and local(monday, tz).time() == time(9)
    assert local(friday, tz).utcoffset() != local(monday, tz).utcoffset()
    second = timedelta(seconds=1)
    for opening in (friday, monday):
        assert not WORKDAYS.contains(opening - second, tz)
        assert WORKDAYS.contains(opening, tz)
        assert WORKDAYS.contains(opening + timedelta(hours=8) - second, tz)
        assert not WORKDAYS.contains(opening + timedelta(hours=8), tz)  # 17:00 is out
        assert WORKDAYS.next_opening(opening - timedelta(hours=3), tz) == opening
    # Friday after closing: the weekend, and the change, are skipped to Monday 09:00.
    closed = friday + timedelta(hours=8)
    assert WORKDAYS.next_opening(closed, tz) == monday
    assert WORKDAYS.next_opening(monday - timedelta(days=1), tz) == monday  # Sunday


def test_the_spring_gap_opens_as_far_past_it_as_the_start_was_into_it() -> None:
    """02:30 does not exist on 8 March in New York (02:00 -> 03:00) nor on 4 October in
    Sydney: the window opens at 03:30 local, as window.py documents."""
    assert NIGHT.next_opening(utc(2026, 3, 8, 5), NY) == utc(2026, 3, 8, 7, 30)
    assert local(utc(2026, 3, 8, 7, 30), NY).time() == time(3, 30)
    assert NIGHT.next_opening(utc(2026, 3, 7, 5), NY) == utc(2026, 3, 7, 7, 30)  # EST
    assert NIGHT.next_opening(utc(2026, 3, 9, 5), NY) == utc(2026, 3, 9, 6, 30)  # EDT
    assert NIGHT.next_opening(utc(2026, 10, 3, 12), SYDNEY) == utc(2026, 10, 3, 16, 30)
    assert local(utc(2026, 10, 3, 16, 30), SYDNEY).time() == time(3, 30)


def test_the_autumn_fold_opens_at_the_first_02_30_and_again_at_the_second() -> None:
    """On 5 April in Sydney 02:00-03:00 happens twice (03:00 AEDT -> 02:00 AEST): the window
    opens at the first 02:30 (15:30 UTC); back at 02:00 the wall clock is before the start
    again, and the window opens once more at the second 02:30 (16:30 UTC)."""
    first, second = utc(2026, 4, 4, 15, 30), utc(2026, 4, 4, 16, 30)
    assert NIGHT.next_opening(utc(2026, 4, 4, 12), SYDNEY) == first
    assert NIGHT.contains(first, SYDNEY) and NIGHT.contains(utc(2026, 4, 4, 15, 59), SYDNEY)
    back = utc(2026, 4, 4, 16, 10)  # 02:10 AEST, the second time round
    assert not NIGHT.contains(back, SYDNEY)
    assert NIGHT.next_opening(back, SYDNEY) == second
    assert NIGHT.contains(second, SYDNEY)
    assert NIGHT.next_opening(utc(2026, 4, 4, 18), SYDNEY) == utc(2026, 4, 5, 16, 30)  # AEST


@settings(max_examples=scaled(300))
@given(at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31),
                       timezones=st.just(UTC)),
       tz=st.sampled_from([NY, SYDNEY, "UTC", "Asia/Kolkata"]),
       window=st.sampled_from([WORKDAYS, NIGHT, SendWindow(days=frozenset({5, 6}),
                                                           start=time(1), end=time(3))]))
def test_the_next_opening_is_never_earlier_and_always_inside(
        at: datetime, tz: str, window: SendWindow) -> None:
    opening = window.next_opening(at, tz)
    assert opening >= at
    assert window.contains(opening, tz)
    assert (opening == at) == window.contains(at, tz)


def test_a_window_is_checked_when_it_is_set() -> None:
    for bad, field in [({"days": []}, "w.days"), ({"days": ["someday"]}, "w.days"),
                       ({"start": "17:00", "end": "09:00"}, "w.end"),
                       ({"start": "9am"}, "w.start"), ({"start": "09:00+02:00"}, "w.start"),
                       ({"hours": 3}, "w.hours"), ("always", "w")]:
        with pytest.raises(ValidationFailed) as refused:
            SendWindow.parse(bad, field="w")
        assert refused.value.errors[0].field == field, bad


# --- through the engine -----------------------------------------------------------------


@pytest.mark.parametrize(("tz", "friday", "monday"), CHANGES)
def test_the_engine_sends_at_nine_local_each_side_of_a_change(
        world: World, tz: str, friday: datetime, monday: datetime) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead(tz)
    world.clock.set(friday - timedelta(hours=4))
    world.campaign([HELLO, {"type": "wait", "config": {"hours": 10}},
                    {"type": "email", "config": {"template_key": "follow-up"}}],
                   mailboxes=[box], leads=[lead])

    sent_at = world.run_until(monday + timedelta(days=1))

    assert sent_at == [friday, monday]


def test_two_leads_in_two_zones_each_get_their_own_nine_oclock(world: World) -> None:
    world.templates()
    box = world.mailbox()
    new_york, sydney = world.lead(NY), world.lead(SYDNEY)
    world.clock.set(utc(2026, 3, 6, 12))  # Friday: 07:00 in New York, 23:00 in Sydney
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[new_york, sydney])

    world.run_until(utc(2026, 3, 10))

    sent = {a.lead_id: a.created_at for a in world.sent(campaign)}
    assert sent == {new_york.id: utc(2026, 3, 6, 14), sydney.id: utc(2026, 3, 8, 22)}
    assert [local(at, tz).strftime("%a %H:%M") for at, tz in
            ((sent[new_york.id], NY), (sent[sydney.id], SYDNEY))] == ["Fri 09:00", "Mon 09:00"]


@pytest.mark.parametrize(("tz", "now", "expected"), [
    pytest.param(NY, utc(2026, 3, 8, 5), utc(2026, 3, 8, 7, 30), id="gap"),
    pytest.param(SYDNEY, utc(2026, 4, 4, 12), utc(2026, 4, 4, 15, 30), id="fold-first"),
    pytest.param(SYDNEY, utc(2026, 4, 4, 16, 10), utc(2026, 4, 4, 16, 30), id="fold-second"),
])
def test_the_engine_keeps_the_gap_and_the_fold(world: World, tz: str, now: datetime,
                                               expected: datetime) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead(tz)
    world.clock.set(now)
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[lead],
                              send_window=NIGHT.document())

    assert world.run_until(now + timedelta(days=1)) == [expected]
    assert world.sent(campaign)[0].created_at == expected


def test_a_lead_without_a_known_zone_takes_the_campaigns(world: World) -> None:
    world.templates()
    box = world.mailbox()
    unknown, none, own = world.lead("Mars/Olympus"), world.lead(None), world.lead(NY)
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[unknown, none, own],
                              timezone="Asia/Tokyo", activate=False)
    zones = {e.lead_id: e.timezone for e in world.enrollments(campaign)}
    assert zones == {unknown.id: "Asia/Tokyo", none.id: "Asia/Tokyo", own.id: NY}
