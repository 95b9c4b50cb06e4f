"""The raw baseline of ``bench.http_load``: a bare FastAPI app with one sync route answering
an empty page, served by the same uvicorn, with the same settings, as ``lad serve``. It
answers GET and POST on any path, so that every endpoint's load runs against it unchanged
(headers and bodies are sent, and ignored)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.api_route("/{path:path}", methods=["GET", "POST"])
def empty_page(path: str) -> dict[str, Any]:
    return {"items": [], "next_cursor": None}
