"""What a returning client costs: POST /v1/chats for a new chat_id and for a chat_id whose earlier
conversation ended (a new linked conversation), and GET /v1/chats/{id} of a conversation with 5
earlier ones, next to GET of a first conversation.

    .venv/bin/python benchmarks/returning_bench.py [--rounds 5] [--chats 100] [--database-url URL]

In-process (FastAPI TestClient, no network), predictions in the process (TRIAGE_MODEL_PROCESSES=0),
a fresh SQLite file per round unless --database-url is given (then a fresh PostgreSQL database per
round, created next to the given one). Prints per round p50 / p99 in ms and the medians over rounds.
The model's prediction (~5 ms) is part of both POST figures; the difference between them is what
the link costs (one indexed lookup of the platform id's latest conversation, the link columns).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.common import in_process_main, timed_ms  # noqa: E402

TEXT = "mijn vader slaat mij als hij gedronken heeft"
AGAIN = "ik ben het weer, hij is vanavond weer boos"


def one_round(model, cards, url: str, chats: int, data_dir: Path) -> dict[str, list[float]]:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from service.helpers import auth, make_settings

    q, a = auth("queue"), auth("advisor")
    out = {"POST new": [], "POST returning": [], "GET first": [], "GET with 5 earlier": []}
    with TestClient(create_app(make_settings(data_dir, url), model=model, cards=cards)) as client:
        for i in range(chats):
            out["POST new"].append(timed_ms(lambda: client.post("/v1/chats", json={"chat_id": f"b{i}", "text": TEXT},
                                                             headers=q)))
            client.delete(f"/v1/chats/b{i}", headers=q)
        for i in range(chats):
            out["POST returning"].append(timed_ms(lambda: client.post(
                "/v1/chats", json={"chat_id": f"b{i}", "text": AGAIN}, headers=q)))
            out["GET first"].append(timed_ms(lambda: client.get(f"/v1/chats/b{i}", headers=a)))
        for _ in range(4):  # conversation 6 of b0
            client.delete("/v1/chats/b0", headers=q)
            client.post("/v1/chats", json={"chat_id": "b0", "text": AGAIN}, headers=q)
        latest = client.get("/v1/chats/b0", headers=a).json()["next_chat_id"]
        while latest:
            chat = client.get(f"/v1/chats/{latest}", headers=a).json()
            if not chat["next_chat_id"]:
                break
            latest = chat["next_chat_id"]
        assert len(client.get(f"/v1/chats/{latest}", headers=a).json()["previous"]) == 5
        for _ in range(chats):
            out["GET with 5 earlier"].append(timed_ms(lambda: client.get(f"/v1/chats/{latest}", headers=a)))
    return out


def main() -> int:
    return in_process_main(__doc__.splitlines()[0], one_round, chats=100, width=20)


if __name__ == "__main__":
    sys.exit(main())
