"""ansible-runner's events, as it sends them, condensed by EventCollector into
what a run's result needs. No playbook runs: the events are written here."""

from __future__ import annotations

from typing import Any

from dockyard.runner.events import INTERRUPTED_MARK, EventCollector, condense_failure, unrescued


def event(kind: str, host: str = "", task: str = "", stdout: str = "", **data: Any) -> dict[str, Any]:
    return {
        "event": kind,
        "stdout": stdout,
        "event_data": {"host": host, "task": task, "task_uuid": f"uuid-{task}", **data},
    }


def stats(**counts: dict[str, int]) -> dict[str, Any]:
    return {"event": "playbook_on_stats", "event_data": counts}


def collect(events: list[dict[str, Any]], cancelling: bool = False) -> tuple[EventCollector, list[dict[str, Any]]]:
    forwarded: list[dict[str, Any]] = []
    collector = EventCollector(forwarded.append, lambda: cancelling)
    for each in events:
        assert collector(each) is True
    return collector, forwarded


def test_recap_failures_changes_and_report_results_are_kept() -> None:
    collector, forwarded = collect(
        [
            event("playbook_on_play_start", play="Deploy"),
            event("playbook_on_task_start", task="Install"),
            event("runner_on_ok", "app1", "Install", res={"changed": True}),
            event("runner_on_failed", "db1", "Install", res={"msg": "no package"}, task_action="apt"),
            event("runner_on_failed", "db2", "Install", res={"msg": "ignored"}, ignore_errors=True),
            event("runner_on_ok", "app1", "Dockyard report: engine", res={"version": "27"}),
            stats(ok={"app1": 2, "db2": 1}, changed={"app1": 1}, failures={"db1": 1}),
        ]
    )
    assert collector.plays_started == 1
    assert collector.recap["db1"] == {"ok": 0, "changed": 0, "failed": 1, "unreachable": 0, "skipped": 0}
    assert collector.recap["app1"]["changed"] == 1
    assert [(f.host, f.task, f.message, f.action) for f in collector.failures] == [
        ("db1", "Install", "no package", "apt")
    ]
    assert collector.changes == [("app1", "Install")]
    assert collector.results == {"app1": {"Dockyard report: engine": {"version": "27"}}}
    assert [(step.play, step.task, step.changed) for step in collector.steps] == [("Deploy", "Install", ["app1"])]
    assert len(forwarded) == 7


def test_a_no_log_result_ansible_printed_as_changed_counts_as_changed() -> None:
    censored = {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified"}
    collector, _ = collect(
        [
            event("runner_on_ok", "db1", "Set password", stdout="changed: [db1]", res=censored),
            event("runner_item_on_ok", "db2", "Set password", stdout="changed: [db2] => (item=x)"),
            event("runner_on_ok", "db2", "Set password", res=censored),
        ]
    )
    assert collector.changes == [("db1", "Set password"), ("db2", "Set password")]
    assert collector.counted["db1"]["changed"] == 1


def test_failures_a_rescue_dealt_with_are_dropped() -> None:
    collector, _ = collect(
        [
            event("runner_on_failed", "db1", "Try", res={"msg": "first"}),
            event("runner_on_failed", "db1", "Try again", res={"msg": "second"}),
            event("runner_on_unreachable", "db2", "Try", res={"msg": "no route"}),
            stats(ok={"db1": 1}, failures={"db1": 1}, dark={"db2": 1}),
        ]
    )
    standing = unrescued(collector.failures, collector.recap)
    assert [(f.host, f.message, f.unreachable) for f in standing] == [
        ("db1", "second", False),
        ("db2", "no route", True),
    ]


def test_what_a_cancel_cut_short_is_no_failure_of_the_host() -> None:
    collector, forwarded = collect(
        [
            event("runner_on_start", "db1", "Wait"),
            event("runner_on_start", "db2", "Wait"),
            event("runner_on_failed", "db1", "Wait", res={"msg": "Module result deserialization failed"}),
        ],
        cancelling=True,
    )
    assert collector.failures == []
    assert collector.counted == {}
    assert forwarded[-1][INTERRUPTED_MARK] is True
    assert collector.cut_short() == [("db1", "Wait"), ("db2", "Wait")]


def test_a_long_failure_is_condensed_to_its_message_and_the_end_of_stderr() -> None:
    stderr = "\n".join(f"line {n}" for n in range(40))
    message = condense_failure({"res": {"msg": "non-zero return code", "stderr": stderr}})
    assert message.splitlines() == ["non-zero return code", *(f"line {n}" for n in range(34, 40))]
    assert condense_failure({"res": {}}) == "failed without a message"
