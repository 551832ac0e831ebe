"""Fixtures for the deploy tests: rendered chart per values file, KubeRay CRD schemas, fake API servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CI_VALUES = REPO_ROOT / "helm" / "covary" / "ci"
VALUES_FILES = ("minimal", "gpu", "external-services", "production")
CRD_DIR = Path(__file__).resolve().parent / "kuberay-crds"  # vendored, see its README.md
TOKEN = "test-token"


@pytest.fixture(scope="session")
def rendered_all() -> dict[str, Any]:
    """Each CI values file rendered once per session."""
    from charts.deploy import load_values, render

    return {name: render(load_values([CI_VALUES / f"{name}-values.yaml"])) for name in VALUES_FILES}


@pytest.fixture(scope="session")
def crd_schemas() -> dict[str, dict[str, Any]]:
    """kind -> openAPIV3Schema of ray.io/v1, from the vendored tests/deploy/kuberay-crds (tests only)."""
    schemas = {}
    for path in CRD_DIR.glob("*.yaml"):
        crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # 40k lines
        for version in crd["spec"]["versions"]:
            if version["name"] == "v1":
                schemas[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    missing = {"RayCluster", "RayJob", "RayService", "RayCronJob"} - set(schemas)
    if missing:
        pytest.fail(f"KubeRay CRD schemas missing in {CRD_DIR}: {sorted(missing)}")
    return schemas


# ------------------------------------------------------------------------------ fake Kubernetes API
class FakeKube:
    """Implements the calls covary deploy makes: server-side apply PATCH and collection GETs."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}  # object path -> object
        self.requests: list[dict[str, Any]] = []
        self.missing_groups: set[str] = set()
        self.forbidden_kinds: set[str] = set()
        self.version = 0
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _status(self, code: int, reason: str, message: str) -> None:
                self._send(
                    code,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "reason": reason,
                        "message": message,
                        "code": code,
                    },
                )

            def _check(self) -> tuple[str, dict[str, list[str]], list[str]] | None:
                url = urlparse(self.path)
                parts = url.path.strip("/").split("/")
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._status(401, "Unauthorized", "Unauthorized")
                    return None
                group = parts[1] if parts[0] == "apis" else ""
                if group in fake.missing_groups:
                    self._status(404, "NotFound", "the server could not find the requested resource")
                    return None
                return url.path, parse_qs(url.query), parts

            def do_PATCH(self) -> None:
                checked = self._check()
                if not checked:
                    return
                path, query, parts = checked
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append(
                    {
                        "method": "PATCH",
                        "path": path,
                        "query": query,
                        "content_type": self.headers.get("Content-Type"),
                        "body": body,
                    }
                )
                if self.headers.get("Content-Type") != "application/apply-patch+yaml":
                    self._status(415, "UnsupportedMediaType", "server-side apply needs application/apply-patch+yaml")
                    return
                if query.get("fieldManager") != ["covary"]:
                    self._status(422, "Invalid", "fieldManager is required for apply patch")
                    return
                obj = yaml.safe_load(body)
                if obj["kind"] in fake.forbidden_kinds:
                    self._status(403, "Forbidden", f'{parts[-2]} is forbidden: User "ci" cannot patch resource')
                    return
                if obj["metadata"]["name"] != parts[-1] or obj["metadata"].get("namespace") != parts[-3]:
                    self._status(400, "BadRequest", "the name/namespace of the object does not match the URL")
                    return
                with fake.lock:
                    existed = path in fake.objects
                    fake.version += 1
                    if query.get("dryRun") != ["All"]:
                        obj["metadata"]["resourceVersion"] = str(fake.version)
                        obj["metadata"]["generation"] = (
                            fake.objects.get(path, {}).get("metadata", {}).get("generation", 0) + 1
                        )
                        if existed and "status" in fake.objects[path]:
                            obj["status"] = fake.objects[path]["status"]
                        fake.objects[path] = obj
                self._send(200 if existed else 201, obj)

            def do_GET(self) -> None:
                checked = self._check()
                if not checked:
                    return
                path, query, _ = checked
                fake.requests.append({"method": "GET", "path": path, "query": query})
                selector = dict(s.split("=", 1) for s in query.get("labelSelector", [""])[0].split(",") if s)
                items = [
                    o
                    for p, o in fake.objects.items()
                    if p.rsplit("/", 1)[0] == path
                    and all(o["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
                ]
                self._send(200, {"kind": "List", "apiVersion": "v1", "items": items, "metadata": {}})

        return Handler


@pytest.fixture
def fake_kube(tmp_path: Path) -> Iterator[tuple[FakeKube, Path]]:
    """A fake API server on 127.0.0.1 and a kubeconfig (token auth) pointing at it."""
    fake = FakeKube()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
                "users": [{"name": "ci", "user": {"token": TOKEN}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "ci", "namespace": "covary"}}],
                "current-context": "fake",
            }
        )
    )
    yield fake, kubeconfig
    server.shutdown()
    server.server_close()


# ------------------------------------------------------------------------------ fake Grafana
class FakeGrafana:
    """Implements GET/POST /api/folders and POST /api/dashboards/db like Grafana 11."""

    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                fake.requests.append((self.command, self.path))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, {"message": "invalid API key"})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                if self.path.startswith("/api/folders/"):
                    uid = self.path.rsplit("/", 1)[1]
                    if uid in fake.folders:
                        self._send(200, fake.folders[uid])
                    else:
                        self._send(404, {"message": "folder not found", "status": "not-found"})
                    return
                self._send(404, {"message": "not found"})

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.path == "/api/folders":
                    if body["uid"] in fake.folders:
                        self._send(409, {"message": "a folder with the same uid already exists"})
                        return
                    fake.folders[body["uid"]] = {
                        "uid": body["uid"],
                        "title": body["title"],
                        "id": len(fake.folders) + 1,
                    }
                    self._send(200, fake.folders[body["uid"]])
                elif self.path == "/api/dashboards/db":
                    dash = body["dashboard"]
                    if body.get("folderUid") not in fake.folders:
                        self._send(400, {"message": "folder not found"})
                        return
                    if not dash.get("title") or not isinstance(dash.get("panels"), list):
                        self._send(400, {"message": "Dashboard title cannot be empty"})
                        return
                    old = fake.dashboards.get(dash["uid"])
                    if old and not body.get("overwrite"):
                        self._send(412, {"message": "version-mismatch", "status": "version-mismatch"})
                        return
                    version = (old["version"] + 1) if old else 1
                    fake.dashboards[dash["uid"]] = {
                        "dashboard": dash,
                        "folderUid": body["folderUid"],
                        "version": version,
                    }
                    self._send(
                        200,
                        {
                            "id": 1,
                            "uid": dash["uid"],
                            "url": f"/d/{dash['uid']}/covary-overview",
                            "status": "success",
                            "version": version,
                            "slug": "covary-overview",
                        },
                    )
                else:
                    self._send(404, {"message": "not found"})

        return Handler


@pytest.fixture
def fake_grafana() -> Iterator[tuple[FakeGrafana, str]]:
    fake = FakeGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
