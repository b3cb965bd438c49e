"""Chats: the chat platform's chats and messages, advisors' claims, overrides and closing."""
