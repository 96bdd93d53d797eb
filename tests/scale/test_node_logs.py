"""A node's logs are structured: one JSON object per line (issue 6, operations).

Log shippers in a cluster parse each line; a plain-text line breaks that. Only the
human announcement `kefu serve` prints on start ("Kefu is serving on ...") is exempt.
"""

from __future__ import annotations

import json

from tests.scale.cluster import Cluster


async def test_a_node_logs_json_lines(cluster: Cluster) -> None:
    (node,) = await cluster.start_nodes(1, KEFU_LOG_LEVEL="info")
    assert await node.status("/healthz") == 200
    node.stop()
    lines = [
        line
        for line in node.log_path.read_text().splitlines()
        if line.strip() and not line.startswith(("Kefu is serving", "  "))
    ]
    assert lines, "an info-level node logs its start and stop"
    plain = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            plain.append(line)
            continue
        assert {"time", "level", "logger", "message"} <= set(record), record
    assert not plain, f"{len(plain)} plain-text log lines, e.g. {plain[:3]}"
