"""Notion against the replay server: a page with blocks is written; non-JSON bodies are answered sensibly."""

from __future__ import annotations

import httpx

from connectors.core import RunOptions
from connectors.notion.recording import NOTION_DB
from connectors.replay import ReplayServer


def test_notion_writes_a_page_with_blocks(replay: ReplayServer) -> None:
    from connectors.notion.client import create_page, notion_client
    from connectors.notion.models import NewPage, block
    from connectors.notion.source import REPLAY_AUTH

    page = NewPage(
        database_id=NOTION_DB,
        title="Weekly findings",
        children=[block("heading_2", "Top correlations"), block("paragraph", "x" * 2500), block("divider")],
    )
    body = page.body()
    assert len(body["children"][1]["paragraph"]["rich_text"][0]["text"]["content"]) == 2000  # Notion's run limit
    with notion_client(RunOptions(base_url=replay.base_url("notion")), auth=REPLAY_AUTH) as client:
        created = create_page(client, page)
    assert created.object == "page"
    posted = [r for r in replay.requests if r[0] == "POST" and r[1].endswith("/v1/pages")]
    assert posted
    # bodies that are not JSON: a broken JSON body is a 400 with the reason, a multipart upload is answered
    url = f"{replay.base_url('notion')}/v1/pages"
    auth = {"Authorization": f"Bearer {REPLAY_AUTH['token']}", "Notion-Version": "2022-06-28"}
    broken = httpx.post(url, content=b'{"parent": ', headers=auth | {"Content-Type": "application/json"})
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["message"]
    upload = httpx.post(url, files={"file": ("notes.txt", b"hello")}, headers=auth)
    assert upload.status_code == 200 and upload.json()["object"] == "page"
