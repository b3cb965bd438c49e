"""What privacy at the end of a chat costs (api/retention.py): POST /v1/chats/{id}/close with the
chat's copies of the text redacted in the same transaction, next to a close that only deletes the
text (as before); and `triage purge` closing abandoned chats and emptying ended ones.

    .venv/bin/python benchmarks/retention_bench.py [--rounds 5] [--chats 60] [--database-url URL]

In-process (FastAPI TestClient, no network), predictions in the process, a fresh SQLite file per
round unless --database-url is given (then a fresh PostgreSQL database per round next to it).
Prints per round p50 / p99 in ms per close, the purge steps in ms per chat, and the medians over
rounds. The openers are ~150 characters with a name, a school and red flags.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.common import in_process_main, timed_ms  # noqa: E402

TEXT = ("mijn buurman Youssef el Amrani staat nu voor de deur met een mes en zegt dat hij me vermoordt, "
        "mijn dochter zit op OBS De Regenboog, bel me op 06-12345678")


def _text_only(session, chat_id: str) -> None:
    """The close as it was before: the messages' text deleted, nothing redacted."""
    from sqlalchemy import update

    from api.db.models import ChatMessage

    session.execute(update(ChatMessage).where(ChatMessage.chat_id == chat_id).values(raw_text=None)
                    .execution_options(synchronize_session=False))


def one_round(model, cards, url: str, chats: int, data_dir: Path) -> dict[str, list[float]]:
    from fastapi.testclient import TestClient
    from sqlalchemy import update

    from api.app import create_app
    import api.chats.closing as chats_module
    from api.db.models import Chat
    from api.retention import close_abandoned, purge
    from service.helpers import auth, make_settings

    q, a = auth("queue"), auth("advisor")
    out: dict[str, list[float]] = {"close, copies redacted": [], "close, text only (before)": [],
                                   "purge: close abandoned, per chat": [], "purge: empty ended, per chat": []}
    settings = make_settings(data_dir, url)
    with TestClient(create_app(settings, model=model, cards=cards)) as client:
        db = client.app.state.runtime.db
        for i in range(3 * chats):
            client.post("/v1/chats", json={"chat_id": f"c{i}", "text": TEXT}, headers=q)
        redacting = (chats_module.prepare_end, chats_module.end_chat_text)
        text_only = (lambda db_, chat_id: None, lambda session, chat_id, prepared=None: _text_only(session, chat_id))
        try:
            for i in range(chats):  # alternate, so both meet the same machine load
                chats_module.prepare_end, chats_module.end_chat_text = redacting if i % 2 else text_only
                key = "close, copies redacted" if i % 2 else "close, text only (before)"
                out[key].append(timed_ms(lambda: client.post(f"/v1/chats/c{i}/close", json={"outcome": "advice"},
                                                          headers=a)))
        finally:
            chats_module.prepare_end, chats_module.end_chat_text = redacting
        for i in range(chats, 2 * chats):
            r = client.post(f"/v1/chats/c{i}/close", json={"outcome": "advice"}, headers=a)
            assert r.status_code == 200, r.text
        now = datetime.now(timezone.utc)
        with db.write() as session:
            session.execute(update(Chat).where(Chat.status == "waiting").values(updated_at=now - timedelta(hours=25))
                            .execution_options(synchronize_session=False))
        start = time.perf_counter()
        closed = close_abandoned(db, settings.abandoned_hours, now)
        out["purge: close abandoned, per chat"].append((time.perf_counter() - start) * 1000 / max(1, len(closed)))
        start = time.perf_counter()
        result = purge(settings, now + timedelta(days=settings.raw_retention_days + 1), db=db)
        out["purge: empty ended, per chat"].append((time.perf_counter() - start) * 1000
                                                  / max(1, result["stripped"]["chats"]))
        assert len(closed) == chats and result["stripped"]["chats"] == 3 * chats, (len(closed), result)
    return out


def main() -> int:
    return in_process_main(__doc__.splitlines()[0], one_round, chats=60, width=34)


if __name__ == "__main__":
    sys.exit(main())
