"""`covary deploy apply` as a Helm release through helm-python-sdk.

There is no Kubernetes API server on this machine (none is to be had from PyPI or Debian), so what runs here
is what Helm does without one: the release an install would store (client dry run, memory storage) is the
chart rendered with the same values, and an unreachable cluster is reported with a hint. Install, upgrade,
history, rollback and uninstall against a live cluster are not exercised by the tests.
"""

from __future__ import annotations

import socket

import pytest
import yaml

from charts.deploy import load_values, render
from charts.deploy.errors import KubeUnavailableError
from charts.deploy.release import install_or_upgrade
from charts.deploy.render import CHART_DIR
from covary.cli import main

MINIMAL = str(CHART_DIR / "ci" / "minimal-values.yaml")


def _dead_kubeconfig(tmp_path) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    return str(path)


def test_release_is_the_rendered_chart(tmp_path) -> None:
    values = load_values([MINIMAL], ["jobs.enabled=false"])
    row = install_or_upgrade(
        values,
        release="covary",
        namespace="analytics",
        kubeconfig=_dead_kubeconfig(tmp_path),
        dry_run="client",
        storage="memory",
    )
    assert row["action"] == "installed (dry run)" and row["revision"] == 1 and row["namespace"] == "analytics"
    assert row["chart_name"] == "covary" and row["status"] == "pending-install"
    stored = [d for d in yaml.safe_load_all(row["manifest"]) if d]
    expected = render(values, release="covary", namespace="analytics").objects
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, stored)) == sorted(map(key, expected))
    by_key = {key(o): o for o in stored}
    for obj in expected:
        got = by_key[key(obj)]
        got.setdefault("metadata", {}).setdefault("namespace", "analytics")
        assert got == obj, key(obj)


def test_apply_says_when_the_cluster_is_unreachable(tmp_path, capsys) -> None:
    kubeconfig = _dead_kubeconfig(tmp_path)
    with pytest.raises(KubeUnavailableError) as info:
        install_or_upgrade(load_values([MINIMAL]), release="covary", namespace="covary", kubeconfig=kubeconfig)
    assert "unreachable" in str(info.value) and "--kubeconfig" in info.value.hint
    assert main(["deploy", "apply", "-f", MINIMAL, "--kubeconfig", kubeconfig]) != 0
    err = capsys.readouterr().err
    assert "error: helm install/upgrade of release 'covary'" in err and "hint:" in err
    for args in (["history"], ["rollback", "1"], ["uninstall"]):
        assert main(["deploy", *args, "--kubeconfig", kubeconfig]) != 0
        assert "unreachable" in capsys.readouterr().err


def test_raycronjob_feature_gate_is_a_value_and_lint_explains_it(capsys) -> None:
    from charts.deploy.render import lint_notes

    on = render(load_values([MINIMAL]))
    assert len(on.by_kind("RayCronJob")) == 6 and "feature-gates=RayCronJob=true" in on.notes
    off = render(load_values([MINIMAL], ["jobs.rayCronJobFeatureGate=false"]))
    assert off.by_kind("RayCronJob") == [] and "covary job submit" in off.notes
    assert {o["kind"] for o in off.objects} == {o["kind"] for o in on.objects} - {"RayCronJob"}
    assert main(["deploy", "lint", "-f", MINIMAL]) == 0
    out = capsys.readouterr().out
    assert "[NOTE] 6 RayCronJob(s) rendered" in out and "featureGates [{name: RayCronJob, enabled: true}]" in out
    (note,) = lint_notes(load_values([MINIMAL], ["jobs.rayCronJobFeatureGate=false"]))
    assert "no RayCronJob is rendered" in note
    assert lint_notes(load_values([MINIMAL], ["jobs.enabled=false"])) == []
