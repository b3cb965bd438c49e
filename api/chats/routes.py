"""Chats: the chat platform adds chats and messages; advisors claim, release, close, override."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query

from api.deps import ADMIN, ADVISOR, CHAT_READ, QUEUE, ChatServiceDep, KeysDep, require
from api.errors import ApiError
from api.chats.schemas import (CONVERSATION_ID_PATTERN, ChatCreate, ChatDetail, ChatList, ChatOut, ClaimRequest,
                               CloseRequest, HeartbeatRequest, MessageCreate, OverrideRequest, ReassignRequest,
                               ReleaseRequest)
from api.responses import JsonAnswer
from api.schemas import CHAT_ID_MAX, ErrorOut
from api.security import Principal

router = APIRouter(prefix="/v1/chats", tags=["chats"])

ChatIdPath = Annotated[str, Path(min_length=1, max_length=CHAT_ID_MAX, pattern=CONVERSATION_ID_PATTERN,
                                 description="the chat id: the platform's id, or `<platform id>~N` for the "
                                             "N-th conversation of a returning client")]
CHAT_OUT, CHAT_DETAIL, CHAT_LIST = JsonAnswer(ChatOut), JsonAnswer(ChatDetail), JsonAnswer(ChatList)
ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
          409: {"model": ErrorOut}, 413: {"model": ErrorOut}}


@router.post("", response_model=ChatOut, status_code=201, responses={200: {"model": ChatOut}, **ERRORS},
             summary="A new chat is waiting (idempotent on chat_id)")
def create_chat(body: ChatCreate, service: ChatServiceDep, _p: Principal = Depends(require(*QUEUE))):
    """Triage the opener and put the chat in the queue. 201 when created; 200 with the stored chat
    when the same chat_id comes again while it is open (a retry); 409 if that open chat has another
    opener. Once the chat was closed or left, the same chat_id is a returning client: 201 with a
    new conversation (`chat_id` "<id>~2", ...) linked to the earlier one (`previous`)."""
    chat, created = service.create(body)
    return CHAT_OUT(chat, 201 if created else 200)


@router.get("", response_model=ChatList, responses=ERRORS, summary="The chats in one state (the team's overview)")
def list_chats(service: ChatServiceDep, status: Annotated[Literal["claimed", "waiting"], Query(
                   description="`claimed`: every chat an advisor has in hand, with who and their last sign of "
                               "life; `waiting`: the waiting chats by arrival (GET /v1/queue gives their order)")
               ] = "claimed",
               _p: Principal = Depends(require(*ADVISOR))):
    """Lapsed claims are returned to the queue first."""
    return CHAT_LIST(service.list_chats(status))


@router.get("/{chat_id}", response_model=ChatDetail, responses=ERRORS, summary="One chat with its history")
def get_chat(chat_id: ChatIdPath, service: ChatServiceDep, _p: Principal = Depends(require(*CHAT_READ))):
    return CHAT_DETAIL(service.view(chat_id, history=True))


@router.post("/{chat_id}/messages", response_model=ChatOut, responses={201: {"model": ChatOut}, **ERRORS},
             summary="A further client message (waiting or claimed chat): shown to the advisor, re-triage")
def add_message(chat_id: ChatIdPath, body: MessageCreate, service: ChatServiceDep,
                _p: Principal = Depends(require(*QUEUE))):
    """Re-triage on the combined client text (openers are often just "hoi"); the queue reorders.
    New danger (a new red flag, a model urgency above an advisor's override, a minor where the
    advisor said adult) lapses the override and sets `triage.alert`. The message goes to the
    chat's current conversation; once that was closed or left, it opens a new conversation linked
    to it and waits in the queue (201)."""
    chat, created = service.add_message(chat_id, body)
    return CHAT_OUT(chat, 201 if created else 200)


@router.post("/{chat_id}/claim", response_model=ChatOut, responses=ERRORS, summary="An advisor takes the chat")
def claim_chat(chat_id: ChatIdPath, body: ClaimRequest, service: ChatServiceDep,
               principal: Principal = Depends(require(*ADVISOR))):
    """Exactly one concurrent claim wins (200); every other gets 409. The claim belongs to the key:
    only it (or an admin) may keep, release, override or close the chat. `advisor` is the name the
    advisor gives (self-declared; recorded beside the key's label)."""
    # The answer has always carried the history too (the advisor's page shows it at once): a
    # ChatDetail, which is a ChatOut with more, so the document's ChatOut still holds.
    return CHAT_DETAIL(service.claim(chat_id, principal, body.advisor))


@router.post("/{chat_id}/heartbeat", response_model=ChatDetail, responses=ERRORS,
             summary="The claiming advisor's page is alive; returns the chat with its messages")
def heartbeat(chat_id: ChatIdPath, service: ChatServiceDep, body: Annotated[HeartbeatRequest | None, Body()] = None,
              principal: Principal = Depends(require(*ADVISOR))):
    """A claim without a heartbeat for TRIAGE_CLAIM_TIMEOUT_SECONDS goes back to the queue. 403
    `not_claimer` when another key holds the claim (the message names who), 409
    `chat_not_claimed` when the claim is gone."""
    return CHAT_DETAIL(service.heartbeat(chat_id, principal))


@router.post("/{chat_id}/reassign", response_model=ChatDetail, responses=ERRORS,
             summary="A supervisor hands a claimed chat to another advisor")
def reassign_chat(chat_id: ChatIdPath, body: ReassignRequest, keys: KeysDep, service: ChatServiceDep,
                  principal: Principal = Depends(require(*ADMIN))):
    """Admin only until the supervisor role exists. `advisor` names the key that takes over: its
    key id (`key-...`) or its label; `name` optionally the colleague (for a shared key). 422
    `unknown_advisor` / `ambiguous_advisor` when it names no or several advisor keys; 409 unless
    the chat is claimed."""
    found = keys.find(body.advisor, ADVISOR)
    if len(found) != 1:
        raise ApiError(422, "ambiguous_advisor" if found else "unknown_advisor",
                       f"'{body.advisor}' names {len(found) or 'no'} advisor keys; give the key id (key-...) "
                       f"or the label of exactly one", field="advisor")
    return CHAT_DETAIL(service.reassign(chat_id, found[0], body.name, principal))


@router.post("/{chat_id}/release", response_model=ChatOut, responses=ERRORS,
             summary="Put a claimed chat back in the queue")
def release_chat(chat_id: ChatIdPath, service: ChatServiceDep,
                 body: Annotated[ReleaseRequest | None, Body()] = None, principal: Principal = Depends(require(*ADVISOR))):
    """The chat keeps its original waiting time. Only the key that claimed it, or an admin: 403
    `not_claimer` otherwise."""
    return CHAT_OUT(service.release(chat_id, principal))


@router.post("/{chat_id}/close", response_model=ChatOut, responses=ERRORS, summary="Close the chat")
def close_chat(chat_id: ChatIdPath, body: CloseRequest, service: ChatServiceDep,
               principal: Principal = Depends(require(*ADVISOR))):
    """The stored client text is deleted; labels and history stay. A claimed chat only by the key
    that claimed it, or an admin (403 `not_claimer`)."""
    return CHAT_OUT(service.close(chat_id, body, principal))


@router.delete("/{chat_id}", response_model=ChatOut, responses=ERRORS, summary="The client left")
def leave_chat(chat_id: ChatIdPath, service: ChatServiceDep, _p: Principal = Depends(require(*QUEUE))):
    """The chat leaves the queue and its stored client text is deleted. Idempotent."""
    return CHAT_OUT(service.leave(chat_id))


@router.patch("/{chat_id}/triage", response_model=ChatDetail, responses=ERRORS,
              summary="An advisor overrides the triage")
def override_triage(chat_id: ChatIdPath, body: OverrideRequest, service: ChatServiceDep,
                    principal: Principal = Depends(require(*ADVISOR))):
    """The override is applied on top of the model's triage; the history keeps both. A claimed chat
    only by the key that claimed it, or an admin (403 `not_claimer`)."""
    return CHAT_DETAIL(service.override(chat_id, body, principal))
