"""A real MCP client (the official `mcp` Python SDK) driving `aegis mcp`.

    mcp_client.py stdio <aegis binary>      start `aegis mcp` itself, over stdio
    mcp_client.py http <url>                talk to `aegis mcp --http` at <url>

The server's configuration comes from the environment (the e2e test sets it). The
checks: the tools are listed, read-only, with rank_root_causes and
search_past_incidents among them; rank_root_causes over MCP_RANGE_START..MCP_RANGE_END
ranks services; search_past_incidents finds the stored report MCP_EXPECT_SIMILAR
like MCP_REPORT_ID and nothing for an unknown report. Prints one JSON line of what it
saw; exits non-zero on the first failed check.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def exercise(session):
    await session.initialize()
    listed = await session.list_tools()
    names = sorted(t.name for t in listed.tools)
    for needed in ("rank_root_causes", "search_past_incidents", "prometheus_query", "loki_query", "jaeger_traces"):
        assert needed in names, f"{needed} not in {names}"
    for t in listed.tools:
        assert t.annotations is not None and t.annotations.readOnlyHint is True, f"{t.name} is not marked read-only"
        assert t.annotations.destructiveHint is False, t.name
        assert t.inputSchema.get("type") == "object", (t.name, t.inputSchema)

    ranked = await session.call_tool(
        "rank_root_causes",
        {"start": os.environ["MCP_RANGE_START"], "end": os.environ["MCP_RANGE_END"]},
    )
    ranking = text_of(ranked)
    assert not ranked.isError, ranking
    assert "Statistical ranking of" in ranking, ranking
    expect_top = os.environ.get("MCP_EXPECT_RANKED")
    if expect_top:
        assert expect_top in ranking, f"{expect_top} not ranked: {ranking}"

    report_id = os.environ["MCP_REPORT_ID"]
    similar = await session.call_tool("search_past_incidents", {"report_id": report_id})
    found = text_of(similar)
    assert not similar.isError, found
    assert f"report {os.environ['MCP_EXPECT_SIMILAR']} " in found, found
    assert f"report {os.environ['MCP_NOT_SIMILAR']} " not in found, found
    assert f"report {report_id} " not in found, found

    by_service = await session.call_tool(
        "search_past_incidents", {"services": [os.environ["MCP_SERVICE"]]}
    )
    assert not by_service.isError, text_of(by_service)
    assert "past incidents" in text_of(by_service), text_of(by_service)

    # Bad input is a tool error saying what is wrong, not a crash.
    unknown = await session.call_tool("search_past_incidents", {"report_id": "no-such-report"})
    assert unknown.isError and "no stored report" in text_of(unknown), text_of(unknown)
    empty = await session.call_tool("search_past_incidents", {})
    assert empty.isError and "services" in text_of(empty), text_of(empty)

    incidents = await session.call_tool("list_incidents", {})
    assert not incidents.isError, text_of(incidents)
    listed_incidents = json.loads(text_of(incidents))
    incident_id = os.environ.get("MCP_INCIDENT")
    if incident_id:
        one = await session.call_tool("list_incidents", {"id": incident_id})
        assert not one.isError, text_of(one)
        timeline = [m["kind"] for m in json.loads(text_of(one))["timeline"]]
    else:
        timeline = []
    too_many = await session.call_tool("list_incidents", {"limit": 500})
    assert too_many.isError and "limit" in text_of(too_many), text_of(too_many)

    return {
        "tools": names,
        "ranking": ranking.splitlines()[:4],
        "similar": found.splitlines(),
        "incidents": [i["id"] for i in listed_incidents],
        "timeline": timeline,
    }


async def main():
    mode, target = sys.argv[1], sys.argv[2]
    if mode == "stdio":
        params = StdioServerParameters(command=target, args=["mcp"], env=dict(os.environ))
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                seen = await exercise(session)
    elif mode == "http":
        async with streamablehttp_client(target) as (read, write, _):
            async with ClientSession(read, write) as session:
                seen = await exercise(session)
    else:
        raise SystemExit(f"unknown mode {mode!r}: stdio or http")
    print(json.dumps({"mode": mode, **seen}))


if __name__ == "__main__":
    asyncio.run(main())
