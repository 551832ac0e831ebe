"""Export a report to Notion through the Notion connector: one page with blocks and uploaded chart images."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from connectors.core import HttpClient
from jobs.report.render import Report

log = logging.getLogger(__name__)
MAX_BLOCKS = 100  # one POST /v1/pages carries at most 100 children


def upload_image(client: HttpClient, path: Path) -> str:
    """Notion's direct upload: ``POST /v1/file_uploads`` then ``POST /v1/file_uploads/{id}/send`` (multipart)."""
    created = client.request(
        "POST", "/v1/file_uploads", json={"filename": path.name, "content_type": "image/png"}, context="file_upload"
    ).data
    upload_id = str(created["id"])
    # HttpClient.request sends JSON only; the send step is multipart, so use its httpx client with the same auth.
    headers: dict[str, str] = {}
    params: dict[str, Any] = {}
    client.auth.apply(headers, params)
    response = client.http.post(
        client.url_for(f"/v1/file_uploads/{upload_id}/send"),
        files={"file": (path.name, path.read_bytes(), "image/png")},
        headers=headers,
        params=params or None,
    )
    if response.status_code >= 400:
        from jobs.report.errors import NotionExportError

        raise NotionExportError(
            f"notion: uploading {path.name} failed with HTTP {response.status_code}: {response.text[:200]}",
            hint="check the Notion token (COVARY_CONNECTORS__NOTION_TOKEN) and that the integration may upload files",
        )
    return upload_id


def _rich(kind: str, text: str) -> dict[str, Any]:
    from connectors.notion.models import block

    return block(kind, text)  # type: ignore[arg-type]


def report_blocks(report: Report, images: dict[str, str]) -> list[dict[str, Any]]:
    """Headings, summary bullets, alerts, section text and image blocks (at most 100)."""
    blocks: list[dict[str, Any]] = [_rich("bulleted_list_item", s) for s in report.summary]
    for sec in report.sections:
        blocks.append(_rich("heading_2", sec.title))
        if sec.title.startswith("Correlation changes") and report.alerts:
            blocks += [_rich("bulleted_list_item", a["message"]) for a in report.alerts[:40]]
            if len(report.alerts) > 40:
                blocks.append(_rich("paragraph", f"... and {len(report.alerts) - 40} more alerts in the HTML report."))
        else:
            text = "\n".join(line for line in sec.markdown.splitlines() if not line.startswith("|---"))
            blocks.append(_rich("paragraph", text.replace("| ", "").replace(" |", " ·")))
        for name in sec.images:
            if name in images:
                blocks.append(
                    {
                        "object": "block",
                        "type": "image",
                        "image": {"type": "file_upload", "file_upload": {"id": images[name]}},
                    }
                )
    blocks.append(_rich("divider", ""))
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], _rich("paragraph", "Truncated: see the HTML report for the rest.")]
    return blocks


def export_report(report: Report, image_dir: Path, *, database_id: str, client: HttpClient) -> dict[str, Any]:
    """Create the report page in ``database_id``; returns the page id, URL and uploaded images."""
    from connectors.notion.client import create_page
    from connectors.notion.models import NewPage

    images: dict[str, str] = {}
    for sec in report.sections:
        for name in sec.images:
            path = image_dir / name
            if path.is_file():
                images[name] = upload_image(client, path)
    page = NewPage(database_id=database_id, title=report.title, children=report_blocks(report, images))
    created = create_page(client, page)
    return {"page_id": created.id, "url": created.url, "images": len(images), "blocks": len(page.children)}


__all__ = ["MAX_BLOCKS", "export_report", "report_blocks", "upload_image"]
