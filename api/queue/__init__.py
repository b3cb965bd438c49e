"""The advisor queue: GET /v1/queue, the waiting chats in pick-up order."""
