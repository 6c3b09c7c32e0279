"""`--prune` is scoped by what exists locally, never by what was selected (issue 9).

Library-level cases use hand-made dashboards and an explicit `LocalInventory`; the CLI cases publish the
bundled dashboards and then run the filtered prunes that used to delete every other backend's dashboards.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from airflow_dash.build import compile_dashboards
from airflow_dash.grafana.model import folder_uid, stamp, target_folder_path
from airflow_dash.grafana.publish import LocalInventory, PublishOptions, publish_dashboards
from tests.grafana_fixtures import sample_dashboard
from tests.test_publish_bundled import DATASOURCE_ENV

REPO = Path(__file__).resolve().parents[1]
WRITES = ("POST", "PUT", "DELETE", "PATCH")


def publish(target, dashboards, local=None, **options):
    return publish_dashboards(target.client(), dashboards, PublishOptions(root_folder=target.root_folder, **options),
                              local=local)


def two_backends(prefix: str):
    """The same three definitions for two "backends": uids differ by suffix, folders are shared."""
    return [sample_dashboard(prefix, f"{name}-{backend}", folder)
            for backend in ("prom", "flux") for name, folder in (("overview", None), ("scheduler", "Components"),
                                                                  ("workers", "Components"))]


def test_filtered_prune_deletes_nothing_that_is_defined_locally(grafana):
    everything = two_backends(grafana.prefix)
    assert publish(grafana, everything)[1].ok
    local = LocalInventory.of(everything)
    prom_only = [d for d in everything if d.uid.endswith("-prom")]

    plan, report = publish(grafana, prom_only, local=local, prune=True)
    assert report.ok, report
    assert [s for s in plan.dashboards if s.prune] == []
    with grafana.client() as client:
        assert all(client.get_dashboard(d.uid) is not None for d in everything)

    # One name only, dry run: still no delete planned.
    plan, report = publish(grafana, everything[:1], local=local, prune=True, dry_run=True)
    assert [s.uid for s in plan.dashboards if s.prune] == []
    assert not any(i.outcome == "would delete" for i in report.items)


def test_prune_deletes_what_no_local_definition_produces_whatever_was_selected(grafana):
    everything = two_backends(grafana.prefix)
    assert publish(grafana, everything)[1].ok
    removed = [d for d in everything if "workers" in d.uid]  # a definition deleted locally: both backends
    local = LocalInventory.of([d for d in everything if d not in removed])

    plan, report = publish(grafana, everything[:1], local=local, prune=True)
    assert report.ok, report
    assert sorted(s.uid for s in plan.dashboards if s.prune) == sorted(d.uid for d in removed)
    with grafana.client() as client:
        assert [d.uid for d in everything if client.get_dashboard(d.uid) is None] == [d.uid for d in removed]


def test_prune_stays_out_of_folders_we_do_not_manage(grafana):
    everything = two_backends(grafana.prefix)[:1]
    assert publish(grafana, everything)[1].ok
    root_uid = folder_uid((grafana.root_folder,))
    stray = sample_dashboard(grafana.prefix, "gone")
    with grafana.client() as client:
        # Managed dashboards (tag and a valid marker) nobody defines any more, outside our folders: one in a
        # folder of its own, one in a user's sub-folder of our root folder.
        client.ensure_folder("elsewhere", "Elsewhere")
        client.ensure_folder("scratch-under-root", "Scratch", parent_uid=root_uid)
        for n, folder in enumerate(("elsewhere", "scratch-under-root")):
            model = stamp({**stray.model, "uid": f"{stray.uid}-{n}", "title": f"{stray.title} {n}"})
            client.save_dashboard(model, folder_uid=folder)

        plan, report = publish(grafana, everything, prune=True)
        assert report.ok, report
        assert [s for s in plan.dashboards if s.prune] == []
        assert client.get_dashboard(f"{stray.uid}-0") is not None
        assert client.get_dashboard(f"{stray.uid}-1") is not None


def test_an_edited_dashboard_is_never_pruned_without_force_and_the_refusal_says_delete(grafana):
    emulator = grafana.require_emulator()
    everything = two_backends(grafana.prefix)
    assert publish(grafana, everything)[1].ok
    edited = everything[-1]
    emulator.edit_dashboard_as_user(edited.uid, lambda m: m.update(description="a user's own notes"))
    local = LocalInventory.of(everything[:-1])
    emulator.reset_requests()

    plan, report = publish(grafana, everything[:-1], local=local, prune=True)
    [blocked] = plan.blocked
    assert blocked.uid == edited.uid and blocked.prune
    [item] = [i for i in report.items if i.key == edited.uid]
    assert item.outcome == "refused"
    assert "would delete it" in item.detail and "--force deletes it" in item.detail
    assert "overwrite" not in item.detail
    assert [r for r in emulator.requests if r.method in WRITES] == []

    plan, report = publish(grafana, everything[:-1], local=local, prune=True, dry_run=True, force=True)
    assert [i.outcome for i in report.items if i.key == edited.uid] == ["would delete"]

    plan, report = publish(grafana, everything[:-1], local=local, prune=True, force=True)
    assert report.ok, report
    assert emulator.dashboard(edited.uid) is None


# -- the CLI, with the bundled dashboards -------------------------------------------------------------------

def cli(grafana, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "publish", *args], cwd=REPO,
                            env={**grafana.env(**DATASOURCE_ENV), "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=600)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_cli_filtered_prunes_of_the_bundled_dashboards_delete_nothing(grafana):
    everything = {c.uid for c in compile_dashboards(dashboards_dir=REPO / "dashboards")}
    first = cli(grafana)
    assert first.returncode == 0, first.stdout + first.stderr

    dry = cli(grafana, "host-basics", "--prune", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert ": delete" not in dry.stdout and "would delete" not in dry.stdout

    for args in (("--backend", "prometheus", "--prune"), ("host-basics", "--prune")):
        result = cli(grafana, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "deleted" not in result.stdout + result.stderr
    with grafana.client() as client:
        assert sorted(uid for uid in everything if client.get_dashboard(uid) is None) == []


def test_cli_prune_deletes_a_dashboard_whose_definition_was_removed(grafana, tmp_path):
    """A project whose dashboards dir loses a module: its dashboards go on every backend, the others stay."""
    dashboards_dir = tmp_path / "dashboards"
    dashboards_dir.mkdir()
    (dashboards_dir / "host_basics.py").write_text((REPO / "dashboards" / "host_basics.py").read_text())
    (dashboards_dir / "memory.py").write_text(
        "from airflow_dash.catalog import host\n"
        "from airflow_dash.dashboard import Dashboard\n"
        "from airflow_dash.panels import Row, timeseries\n"
        "dashboard = Dashboard(key='memory', title='Memory', rows=[Row('Host', [timeseries('Memory used', "
        "host.memory_used)])])\n")
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.airflow-dash]\ndatasources_dir = "{REPO / "datasources"}"\n')
    env = {**grafana.env(**DATASOURCE_ENV), "PYTHONPATH": str(REPO)}

    def run(*args):
        result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "publish", *args], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=600)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    assert run().returncode == 0
    memory = {c.uid for c in compile_dashboards(["memory"], dashboards_dir=dashboards_dir)}
    basics = {c.uid for c in compile_dashboards(["host-basics"], dashboards_dir=dashboards_dir)}
    assert len(memory) == 3
    (dashboards_dir / "memory.py").unlink()
    result = run("--backend", "prometheus", "--prune")
    assert result.returncode == 0, result.stdout + result.stderr
    with grafana.client() as client:
        assert {uid for uid in memory | basics if client.get_dashboard(uid) is None} == memory
        folder = folder_uid(target_folder_path(grafana.root_folder, None))
        assert client.get_folder(folder) is not None


def test_filtered_diff_does_not_call_other_backends_removed(grafana):
    from airflow_dash.grafana.diff import diff_against_live

    everything = two_backends(grafana.prefix)
    assert publish(grafana, everything)[1].ok
    prom_only = [d for d in everything if d.uid.endswith("-prom")]
    with grafana.client() as client:
        diffs = diff_against_live(client, prom_only, grafana.root_folder,
                                  defined_locally=LocalInventory.of(everything).uids)
        assert {d.status for d in diffs} == {"equal"} and len(diffs) == len(prom_only)
        gone = diff_against_live(client, prom_only, grafana.root_folder,
                                 defined_locally=LocalInventory.of(everything[:-1]).uids)
        assert [(d.uid, d.status) for d in gone if d.status != "equal"] == [(everything[-1].uid, "removed")]


def test_cli_refusal_to_prune_a_users_save_as_copy_says_it_would_be_deleted(grafana):
    """Grafana's "Save as" copies the JSON (our tag and marker included) under a new uid and title: prune sees
    a managed dashboard no local definition produces, edited since. It is refused, and every line says
    delete (what --force does), none says overwrite."""
    emulator = grafana.require_emulator()
    first = cli(grafana, "host-basics")
    assert first.returncode == 0, first.stdout + first.stderr
    [original] = [c for c in compile_dashboards(["host-basics"], ["prometheus"], dashboards_dir=REPO / "dashboards")]
    with grafana.client() as client:
        live = client.get_dashboard(original.uid)
        copy = {**live.model, "uid": f"{grafana.prefix}-copy", "title": live.model["title"] + " Copy", "id": None}
        emulator.add_dashboard(copy, live.folder_uid)

    refused = cli(grafana, "host-basics", "--prune")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    output = refused.stdout + refused.stderr
    [line] = [line for line in refused.stdout.splitlines() if line.startswith("refusing")]
    assert line.startswith(f"refusing to delete {copy['title']} [{copy['uid']}]:") and "--force deletes it" in line
    [error] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert "nothing was written" in error and "--force deletes them" in error
    assert "overwrite" not in output.lower()
    assert emulator.dashboard(copy["uid"]) is not None

    forced = cli(grafana, "host-basics", "--prune", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert emulator.dashboard(copy["uid"]) is None and emulator.dashboard(original.uid) is not None
