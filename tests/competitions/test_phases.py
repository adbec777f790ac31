"""The phase states a competition's pages show: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.competitions.phases import PhaseState, timeline
from app.models.phase import Phase

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _phase(id: int, name: str, starts: datetime | None, ends: datetime | None = None) -> Phase:
    return Phase(id=id, name=name, starts_at=starts, ends_at=ends)


def _states(phases: list[Phase]) -> list[tuple[str, PhaseState]]:
    return [(s.phase.name, s.state) for s in timeline(phases, NOW).phases]


def test_no_phases_means_nothing_current_or_next() -> None:
    line = timeline([], NOW)
    assert line.phases == [] and line.current is None and line.next is None
    assert line.deadline is None


def test_only_a_scheduled_phase_is_next_not_current() -> None:
    final = _phase(1, "Final", NOW + DAY, NOW + 3 * DAY)
    line = timeline([final], NOW)
    assert _states([final]) == [("Final", PhaseState.SCHEDULED)]
    assert line.current is None and line.next is final and line.deadline is None


def test_a_phase_without_a_start_date_is_scheduled() -> None:
    line = timeline([_phase(1, "Final", None)], NOW)
    assert line.phases[0].state is PhaseState.SCHEDULED and line.current is None


def test_a_running_phase_without_end_has_no_deadline() -> None:
    development = _phase(1, "Development", NOW - DAY)
    line = timeline([development], NOW)
    assert line.current is development and line.deadline is None and line.next is None


def test_mico_before_and_after_final_opens() -> None:
    before = [_phase(1, "Development", NOW - 9 * DAY, NOW + DAY), _phase(2, "Final", None)]
    line = timeline(before, NOW)
    assert _states(before) == [
        ("Development", PhaseState.RUNNING),
        ("Final", PhaseState.SCHEDULED),
    ]
    assert line.current is before[0] and line.deadline == NOW + DAY and line.next is before[1]

    opened = NOW - timedelta(hours=1)  # "Open now" on Final: Development ends at that moment
    after = [_phase(1, "Development", NOW - 9 * DAY, opened), _phase(2, "Final", opened)]
    line = timeline(after, NOW)
    assert _states(after) == [("Development", PhaseState.CLOSED), ("Final", PhaseState.RUNNING)]
    assert line.current is after[1] and line.next is None


def test_a_gap_between_phases_has_no_current_and_the_next_by_start() -> None:
    phases = [
        _phase(3, "Final", NOW + 2 * DAY, NOW + 4 * DAY),
        _phase(1, "Development", NOW - 5 * DAY, NOW - DAY),
        _phase(2, "Extra", NOW + DAY, NOW + 2 * DAY),
    ]
    line = timeline(phases, NOW)
    assert _states(phases) == [
        ("Development", PhaseState.CLOSED),
        ("Extra", PhaseState.SCHEDULED),
        ("Final", PhaseState.SCHEDULED),
    ]
    assert line.current is None and line.next is phases[2]


def test_a_phase_ends_at_its_end_exactly() -> None:
    phase = _phase(1, "Development", NOW - DAY, NOW)
    assert timeline([phase], NOW).phases[0].state is PhaseState.CLOSED
