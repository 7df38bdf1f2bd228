"""The local worker's choice of the next document: fair across orgs, then bots; small files never
wait behind large ones (Django-free)."""

from __future__ import annotations

from documents.fairness import FairPicker, Job

LARGE = 10_000_000


def job(n: int, org: str, bot: str, size: int = 1_000) -> Job:
    return Job(f"d{n}", org, bot, size)


def drain(picker: FairPicker, pending: list[Job]) -> list[str]:
    """Pick one at a time, finishing each before the next (a single free worker)."""
    order = []
    while (chosen := picker.pick(pending)) is not None:
        order.append(chosen.document_id)
        pending = [j for j in pending if j is not chosen]
        picker.done(chosen)
    return order


def test_orgs_take_turns_whoever_uploaded_more():
    pending = [job(1, "A", "a"), job(2, "A", "a"), job(3, "A", "a"), job(4, "B", "b"), job(5, "C", "c")]
    assert drain(FairPicker(large_bytes=LARGE, large_slots=1), pending) == ["d1", "d4", "d5", "d2", "d3"]


def test_bots_of_one_org_take_turns_inside_the_orgs_turn():
    pending = [job(1, "A", "a1"), job(2, "A", "a1"), job(3, "A", "a2"), job(4, "B", "b")]
    assert drain(FairPicker(large_bytes=LARGE, large_slots=1), pending) == ["d1", "d4", "d3", "d2"]


def test_a_bot_keeps_its_upload_order():
    pending = [job(1, "A", "a"), job(2, "A", "a"), job(3, "A", "a")]
    assert drain(FairPicker(large_bytes=LARGE, large_slots=1), pending) == ["d1", "d2", "d3"]


def test_large_files_leave_a_worker_free_for_small_ones():
    picker = FairPicker(large_bytes=LARGE, large_slots=1)  # a pool of two threads
    big_a, big_b = job(1, "A", "a", LARGE), job(2, "B", "b", LARGE)
    small = job(3, "A", "a")
    first = picker.pick([big_a, big_b, small])
    assert first is big_a
    # The second thread may not take the other large file: the small one goes first...
    assert picker.pick([big_a, big_b, small]) is small
    # ...and with only large files left, it waits rather than fill the last slot.
    assert picker.pick([big_a, big_b]) is None
    picker.done(first)
    assert picker.pick([big_b]) is big_b


def test_a_running_document_is_not_picked_twice():
    picker = FairPicker(large_bytes=LARGE, large_slots=3)
    only = job(1, "A", "a")
    assert picker.pick([only]) is only
    assert picker.pick([only]) is None
