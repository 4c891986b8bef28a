"""The list scheduler behind the hetero model's latency, on hand-made task graphs."""
import pytest

from archsim.arch.list_schedule import Task, list_schedule


def test_chain_on_one_resource_is_the_sum():
    tasks = [Task("a", "x", 3), Task("b", "x", 4, ("a",), 1), Task("c", "x", 5, ("b",), 2)]
    times = list_schedule(tasks, {"x": 1})
    assert times == {"a": (0, 3), "b": (3, 7), "c": (7, 12)}


def test_independent_tasks_overlap_on_different_resources():
    """a (x, 10) and b (y, 4) both start at 0; c on x needs both: starts at 10."""
    tasks = [Task("a", "x", 10), Task("b", "y", 4, (), 1), Task("c", "x", 2, ("a", "b"), 2)]
    times = list_schedule(tasks, {"x": 1, "y": 1})
    assert times["a"] == (0, 10) and times["b"] == (0, 4) and times["c"] == (10, 12)


def test_copies_run_branches_side_by_side():
    """Fork-join: s (1) -> {p (5), q (3)} -> j (1). One copy: 1 + 5 + 3 + 1 = 10; two copies:
    1 + max(5, 3) + 1 = 7."""
    tasks = [Task("s", "x", 1), Task("p", "x", 5, ("s",), 1), Task("q", "x", 3, ("s",), 2),
             Task("j", "x", 1, ("p", "q"), 3)]
    assert max(e for _, e in list_schedule(tasks, {"x": 1}).values()) == 10
    two = list_schedule(tasks, {"x": 2})
    assert two["p"] == (1, 6) and two["q"] == (1, 4) and two["j"] == (6, 7)


def test_priority_breaks_ties_and_a_busy_copy_delays():
    """b and c are both ready at 0 on one copy: the lower priority number (c) goes first."""
    tasks = [Task("b", "x", 2, (), 5), Task("c", "x", 3, (), 1)]
    times = list_schedule(tasks, {"x": 1})
    assert times == {"c": (0, 3), "b": (3, 5)}


def test_a_later_ready_task_does_not_block_an_earlier_one():
    """On y, d is ready at 10 (after a) and e at 0: e runs first although d has the lower priority."""
    tasks = [Task("a", "x", 10), Task("d", "y", 1, ("a",), 1), Task("e", "y", 4, (), 2)]
    times = list_schedule(tasks, {"x": 1, "y": 1})
    assert times["e"] == (0, 4) and times["d"] == (10, 11)


def test_bad_graphs():
    with pytest.raises(ValueError, match="unknown predecessor"):
        list_schedule([Task("a", "x", 1, ("zz",))], {"x": 1})
    with pytest.raises(ValueError, match="no copies"):
        list_schedule([Task("a", "w", 1)], {"x": 1})
    with pytest.raises(ValueError, match="cycle"):
        list_schedule([Task("a", "x", 1, ("b",)), Task("b", "x", 1, ("a",))], {"x": 1})
    with pytest.raises(ValueError, match="duplicate"):
        list_schedule([Task("a", "x", 1), Task("a", "x", 1)], {"x": 1})
