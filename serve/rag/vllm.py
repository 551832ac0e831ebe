"""vLLM for the ``vllm`` answer backend: typed args shared by the query app's ``VLLMEngine`` deployment
(``serve.rag.deployments``) and a separate OpenAI-compatible Ray Serve LLM app (imported lazily, GPU images)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class VLLMAppArgs(BaseModel):
    """Typed args of :func:`build_llm_app` (the ``args:`` of a Serve config entry)."""

    model_config = {"extra": "forbid"}

    model_id: str = Field("covary-llm", description="Name clients send as `model` (COVARY_LLM__MODEL).")
    model_source: str = Field("Qwen/Qwen2.5-7B-Instruct", description="Hugging Face id or a local/cloud path.")
    accelerator_type: str | None = Field(None, description="e.g. H100, A10G, L4; None = any GPU.")
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)
    max_model_len: int = Field(8192, ge=256)
    tensor_parallel_size: int = Field(1, ge=1)
    load_format: str | None = Field(None, description="'dummy' serves random weights (benchmarks, no download).")
    max_tokens: int = Field(512, ge=1, description="Longest answer (the VLLMEngine deployment of the query app).")


def llm_config(args: VLLMAppArgs) -> Any:
    """A ``ray.serve.llm.LLMConfig`` for the vLLM engine (needs ``ray[llm]`` + vLLM: only on GPU images)."""
    from ray.serve.llm import LLMConfig

    engine: dict[str, Any] = {"max_model_len": args.max_model_len, "tensor_parallel_size": args.tensor_parallel_size}
    if args.load_format:
        engine["load_format"] = args.load_format
    kwargs: dict[str, Any] = {
        "model_loading_config": {"model_id": args.model_id, "model_source": args.model_source},
        "deployment_config": {
            "autoscaling_config": {"min_replicas": args.min_replicas, "max_replicas": args.max_replicas}
        },
        "engine_kwargs": engine,
    }
    if args.accelerator_type:
        kwargs["accelerator_type"] = args.accelerator_type
    return LLMConfig(**kwargs)


def build_llm_app(args: dict[str, Any] | VLLMAppArgs | None = None) -> Any:
    """``import_path: serve.rag.vllm:build_llm_app``: OpenAI routes (``/v1/chat/completions``) under the app's
    route prefix (``/llm`` in ``serve/config/llm.yaml``), which the ``vllm`` answer backend calls."""
    from ray.serve.llm import build_openai_app

    parsed = args if isinstance(args, VLLMAppArgs) else VLLMAppArgs(**(args or {}))
    return build_openai_app({"llm_configs": [llm_config(parsed)]})


__all__ = ["VLLMAppArgs", "build_llm_app", "llm_config"]
