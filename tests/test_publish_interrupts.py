"""Interrupts, timeouts and lost answers are reported truthfully (issue 9), and exit codes say what happened:
0 done, 1 some items failed or were refused, 2 bad input or configuration (a rejected token included, also
mid-run), 130 interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from airflow_dash.grafana.model import folder_uid, pretty_json, target_folder_path
from airflow_dash.grafana.publish import PublishOptions, publish_dashboards
from tests.grafana_fixtures import sample_dashboard

REPO = Path(__file__).resolve().parents[1]


def saves(target) -> list:
    """Dashboard creates (every dashboard here is new): POST on both Grafana 11 and 13."""
    return [r for r in target.emulator.requests if target.is_dashboard_write(r) and r.method == "POST"]


def publish(target, dashboards, client, **options):
    return publish_dashboards(client, dashboards, PublishOptions(root_folder=target.root_folder, **options))


def project(tmp_path: Path, dashboards) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.airflow-dash]\npublish_datasources = false\n")
    out = tmp_path / "compiled"
    out.mkdir()
    for d in dashboards:
        (out / f"{d.uid}.json").write_text(pretty_json(d.model))
    return tmp_path


def cli(args, cwd, env, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "airflow_dash.cli", *args], cwd=cwd,
                            env={**env, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def test_sigint_during_a_100_dashboard_publish_stops_new_writes_and_reports(grafana, tmp_path):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, f"d{i:03d}") for i in range(100)]
    root = project(tmp_path, dashboards)
    concurrency = 4
    # Every request, in the emulator's own threads: long enough that a write sent after an in-flight one's
    # answer arrives well after the signal.
    emulator.faults.latency = 0.5
    process = cli(["publish", "--from-dir", "compiled", "--concurrency", str(concurrency)], root, grafana.env())
    deadline = time.monotonic() + 60
    while len(saves(grafana)) < 8 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    assert process.poll() is None, process.communicate()
    signal_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr
    landed = [d.uid for d in dashboards if emulator.dashboard(d.uid) is not None]
    # No write was sent after the signal: the emulator records a write's arrival, so those in flight then
    # arrived before it (50 ms allowed for the emulator's thread to read one sent just before it).
    assert [r.arrived - signal_at for r in saves(grafana) if r.arrived > signal_at + 0.05] == []
    assert len(landed) == len(saves(grafana))
    # The report names every dashboard with what happened to it.
    report = stdout[stdout.index("\nkind "):]
    rows = {d.uid: next(line for line in report.splitlines() if f"  {d.uid}  " in line) for d in dashboards}
    assert {uid for uid, line in rows.items() if "  created  " in line} == set(landed)
    assert sum("  not attempted  " in line for line in rows.values()) == 100 - len(landed)
    assert "interrupted before this write" in stdout
    assert "publish interrupted" in stderr and f"{len(landed) + 1} written" in stderr  # + the folder


def test_timed_out_write_that_landed_is_confirmed_by_re_reading(grafana):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, "slow", "Components")]
    emulator.faults.slow_next(1, 2.0, path_prefix=grafana.dashboard_write_prefix, method="POST")  # applied, answered after 2 s
    client = grafana.client(retries=0, timeout=(5.0, 0.5))
    plan, report = publish(grafana, dashboards, client)
    assert report.ok, report
    [item] = [i for i in report.items if i.kind == "dashboard"]
    assert item.outcome == "created" and "confirmed by re-reading" in item.detail
    # The folder made for it stays, and nobody claims its writes failed.
    components = folder_uid(target_folder_path(grafana.root_folder, "Components"))
    assert emulator.folder(components) is not None
    assert not any("failed" in i.detail for i in report.items)


def test_lost_answer_of_a_write_that_did_not_land_is_failed_after_a_re_read(grafana):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, f"d{i}") for i in range(3)]
    emulator.faults.drop_next(1, path_prefix=grafana.dashboard_write_prefix, method="POST")  # connection closed, nothing applied
    client = grafana.client(retries=0)
    plan, report = publish(grafana, dashboards, client, concurrency=1)
    assert not report.ok
    outcomes = [i.outcome for i in report.items if i.kind == "dashboard"]
    assert outcomes[0] == "failed" and outcomes[1:] == ["not attempted", "not attempted"]
    first = [i for i in report.items if i.kind == "dashboard"][0]
    assert "a re-read shows it was not applied" in first.detail
    assert emulator.dashboard(dashboards[0].uid) is None


def test_write_that_cannot_be_re_read_is_uncertain(grafana):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, "x")]
    client = grafana.client(retries=0)
    plan, _ = publish(grafana, dashboards, client, dry_run=True)
    emulator.faults.drop_next(1, path_prefix=grafana.dashboard_write_prefix, method="POST", after_apply=True)
    emulator.faults.fail_next(1, 503, path_prefix=grafana.dashboard_read_prefix + dashboards[0].uid, method="GET")
    from airflow_dash.grafana.publish import apply_plan

    report = apply_plan(client, plan)
    [item] = [i for i in report.items if i.kind == "dashboard"]
    assert item.outcome == "uncertain" and "may or may not have been applied" in item.detail
    assert not report.ok
    # Its folder is kept, and the report says why.
    [folder] = [i for i in report.items if i.kind == "folder" and i.action == "cleanup"] or [None]
    assert folder is None or (folder.outcome == "kept" and "uncertain" in folder.detail)
    assert emulator.folder(folder_uid((grafana.root_folder,))) is not None


def test_401_mid_run_exits_2_after_the_report(grafana, tmp_path):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, f"d{i}") for i in range(3)]
    root = project(tmp_path, dashboards)
    emulator.faults.fail_always(401, path_prefix=grafana.dashboard_write_prefix, method="POST")
    process = cli(["publish", "--from-dir", "compiled", "--concurrency", "1"], root, grafana.env())
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr
    assert "summary:" in stdout and "not attempted" in stdout
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "rejected the credentials" in errors[0]


def test_refusal_exits_1_and_success_0(grafana, tmp_path):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, "a")]
    root = project(tmp_path, dashboards)
    first = cli(["publish", "--from-dir", "compiled", "--output", "json"], root, grafana.env())
    stdout, _ = first.communicate(timeout=120)
    assert first.returncode == 0 and json.loads(stdout)["report"]["interrupted"] is False
    emulator.edit_dashboard_as_user(dashboards[0].uid, lambda m: m.update(title="mine now"))
    refused = cli(["publish", "--from-dir", "compiled"], root, grafana.env())
    refused.communicate(timeout=120)
    assert refused.returncode == 1


def test_412_name_exists_is_not_called_a_concurrent_change(grafana):
    emulator = grafana.require_emulator()
    if emulator.flavor != "grafana11":
        return
    ours = sample_dashboard(grafana.prefix, "named")
    client = grafana.client()
    root = folder_uid((grafana.root_folder,))
    client.ensure_folder(root, grafana.root_folder)
    emulator.add_dashboard({"uid": f"{grafana.prefix}-someone", "title": ours.title, "panels": []}, root)
    plan, report = publish(grafana, [ours], client)
    [item] = [i for i in report.items if i.kind == "dashboard"]
    assert item.outcome == "failed"
    assert "is titled" in item.detail and "name-exists" in item.detail
    assert "changed in Grafana" not in item.detail
