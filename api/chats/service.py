"""The chat lifecycle and the advisor queue, on top of the database and the model.

States: waiting -> claimed -> closed; claimed -> waiting (release); waiting|claimed -> left (the
client went away); waiting -> closed (an advisor closes it without taking it).

A chat row is one conversation. Platforms reuse their conversation id when a client comes back:
once a conversation ended (closed or left), the same platform id starts the next one, "<id>~2",
linked to the earlier (`previous_chat_id`), so a returning client always waits in the queue and the
advisor sees the earlier contact. The platform's endpoints (new chat, message, leave) address the
platform id's current conversation; advisors address exactly one conversation.

A claim belongs to the API key that made it (`claimed_key`); only that key or an admin may act on
the claimed chat. Names typed by advisors are kept as self-declared, beside the key's label.

Every state change is one conditional UPDATE (`... WHERE status IN (...)`) whose row count decides
who won, so two advisors, threads or server processes can never both claim a chat, on SQLite and on
PostgreSQL alike. The model runs outside database transactions; re-triage on a new message writes
with an optimistic check on the chat's version and retries when the chat changed meanwhile.

Client text is stored only in `chat_messages.raw_text` and `chats.raw_preview` (see
api/db/models.py) and emptied when the chat is closed or the client left. It is never logged, and
events (the history) hold labels and cues, never text.

Every triage the model makes for a chat (the opener, and again on each new client message) is
also stored as an audit record with the redacted text (api/audit/), in the same transaction as
the chat; an advisor's override is linked to the chat's latest audit record.

The service is split by job (api/chats/intake.py, claims.py, overrides.py, closing.py) over
what they share (api/chats/base.py).
"""

from __future__ import annotations

from api.chats.claims import ChatClaims
from api.chats.closing import ChatClosing
from api.chats.intake import ChatIntake
from api.chats.overrides import ChatOverrides


class ChatService(ChatIntake, ChatClaims, ChatOverrides, ChatClosing):
    """The chat service: one object per server process with every job of api/chats/ (each job is a
    module of its own over ChatCore, which holds what they share)."""
