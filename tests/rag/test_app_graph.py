"""The query app's graph: RAG as Embedder, VectorStore, Answerer under RagEngine, the optional VLLMEngine and the
Explorer, all bound by ``build_app`` and passed by handle (the graph is inspected; nothing runs, no Ray)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from jobs.runtime import REPO_ROOT


def _nodes(app: Any) -> dict[str, Any]:
    """Every deployment node reachable from the ingress, by deployment name."""

    seen: dict[str, Any] = {}

    def walk(value: Any) -> None:
        bound = getattr(value, "_bound_deployment", None)
        if bound is not None:
            if bound.name in seen:
                return
            seen[bound.name] = bound
            for arg in [*bound.init_args, *bound.init_kwargs.values()]:
                walk(arg)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(app)
    return seen


def test_rag_is_three_deployments_under_the_rag_engine_by_handle() -> None:
    from serve.explorer.deployment import ExplorerDeployment
    from serve.query.app import build_app
    from serve.rag import deployments as rag

    nodes = _nodes(build_app({}))
    assert "VLLMEngine" not in nodes
    assert {n: nodes[n].func_or_class for n in ("RagEngine", "Embedder", "VectorStore", "Answerer", "Explorer")} == {
        "RagEngine": rag.RagDeployment,
        "Embedder": rag.EmbedderDeployment,
        "VectorStore": rag.VectorStoreDeployment,
        "Answerer": rag.AnswererDeployment,
        "Explorer": ExplorerDeployment,
    }
    engine = nodes["RagEngine"]
    assert [a._bound_deployment.name for a in engine.init_args[1:]] == ["Embedder", "VectorStore", "Answerer"]
    extra = nodes["QueryIngress"].init_args[4]
    assert {k: v._bound_deployment.name for k, v in extra.items()} == {
        "catalog": "CatalogEngine",
        "rag": "RagEngine",
        "answerer": "Answerer",
        "explorer": "Explorer",
    }
    assert nodes["VectorStore"].num_replicas == 1  # Milvus Lite is single-process
    assert nodes["Answerer"].init_args[1] is None  # no vLLM engine: the vllm backend goes over HTTP


def test_vllm_engine_is_bound_only_when_asked_for_and_gets_a_gpu() -> None:
    from serve.query.app import build_app
    from serve.rag.deployments import VLLMEngine

    nodes = _nodes(build_app({"vllm": {"model_source": "/models/qwen", "tensor_parallel_size": 2}}))
    engine = nodes["VLLMEngine"]
    assert engine.func_or_class is VLLMEngine
    assert engine.ray_actor_options["num_gpus"] == 2
    assert engine.init_args[0]["model_source"] == "/models/qwen"
    assert nodes["Answerer"].init_args[1]._bound_deployment.name == "VLLMEngine"  # passed to the answerer


FAKE_VLLM = """
import os
open(os.environ["VLLM_MARKER"], "a").write("imported\\n")


class AsyncEngineArgs:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class SamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class _Tokenizer:
    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        return " | ".join(m["content"] for m in messages)


class _Out:
    def __init__(self, text):
        self.outputs = [type("C", (), {"text": text})()]


class AsyncLLMEngine:
    @classmethod
    def from_engine_args(cls, args):
        engine = cls()
        engine.args = args.kwargs
        return engine

    async def get_tokenizer(self):
        return _Tokenizer()

    async def generate(self, prompt, sampling, request_id):
        for text in ("The unit", "The unit is count", "The unit is count [1]."):
            yield _Out(text)
"""


def test_building_the_app_never_imports_vllm_and_the_engine_does(tmp_path: Path) -> None:
    """With a stand-in ``vllm`` package first on the path (it records each import): building the app, with the
    vLLM option off or on, never imports it; constructing the VLLMEngine replica does, and streams new text only."""
    (tmp_path / "vllm").mkdir()
    (tmp_path / "vllm" / "__init__.py").write_text(FAKE_VLLM)
    marker = tmp_path / "imports.txt"
    script = textwrap.dedent(
        """
        import asyncio, os, sys
        from serve.query.app import build_app
        build_app({})
        build_app({"vllm": {"load_format": "dummy"}})
        print("after build:", "vllm" in sys.modules, os.path.exists(os.environ["VLLM_MARKER"]))
        from serve.rag.deployments import VLLMEngine
        engine = VLLMEngine({"model_source": "m", "load_format": "dummy", "max_tokens": 64})
        assert engine.engine.args["load_format"] == "dummy" and engine.sampling.kwargs["max_tokens"] == 64

        async def pieces():
            return [p async for p in engine.stream([{"role": "user", "content": "unit?"}])]

        print("pieces:", asyncio.run(pieces()))
        """
    )
    env = {"PYTHONPATH": f"{tmp_path}:{REPO_ROOT}", "VLLM_MARKER": str(marker), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "after build: False False" in done.stdout
    assert "pieces: ['The unit', ' is count', ' [1].']" in done.stdout
    assert marker.read_text() == "imported\n"
