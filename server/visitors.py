"""Shoppers (visitors): widget sessions, signed identities, and their conversations.

An anonymous shopper is known by the visitor token the widget keeps. A shopper whose
storefront passes a signed identity (`external_id` + HMAC-SHA256 with the tenant's
identity secret) is the same visitor on every device. An external id without a valid
signature is refused outright (`identity_invalid`): it never reaches anyone's data.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Principal, TokenSigner, identity_is_signed
from server.errors import Forbidden, Unauthorized
from server.store import Database
from server.store.models import Conversation, Tenant, Visitor


def visitor_principal(visitor: Visitor) -> Principal:
    return Principal(
        kind="visitor",
        id=visitor.id,
        tenant_id=visitor.tenant_id,
        role="visitor",
        name=visitor.name or "Visitor",
    )


async def open_visitor_session(
    db: Database,
    signer: TokenSigner,
    tenant: Tenant,
    previous_token: str | None,
    external_id: str | None,
    identity_signature: str | None,
    name: str | None,
    email: str | None,
    language: str | None,
    timezone: str | None = None,
    market: str | None = None,
) -> Visitor:
    """The visitor for this widget session: identified, resumed from a token, or new.

    `timezone` (IANA) and `market` (a market code) place the shopper for routing."""
    place = {"timezone": timezone, "market": market}
    if external_id is not None:
        if not identity_is_signed(tenant.identity_secret, external_id, identity_signature):
            raise Forbidden("the identity is not signed by this store", "identity_invalid")
        return await _identified_visitor(db, tenant, external_id, name, email, language, place)
    if previous_token:
        visitor = await _visitor_from_token(db, signer, tenant, previous_token)
        if visitor is not None:
            return await _update_profile(db, visitor, name, email, language, place)
    visitor = Visitor(tenant_id=tenant.id, name=name, email=email, language=language, **place)
    async with db.write() as session:
        session.add(visitor)
    return visitor


async def _visitor_from_token(
    db: Database, signer: TokenSigner, tenant: Tenant, token: str
) -> Visitor | None:
    try:
        principal = signer.verify(token)
    except Unauthorized:
        return None
    if principal.kind != "visitor" or principal.tenant_id != tenant.id:
        return None
    async with db.read() as session:
        visitor = await session.get(Visitor, principal.id)
    # A token of an anonymous visitor cannot take over an identified one.
    if visitor is None or visitor.tenant_id != tenant.id or visitor.external_id is not None:
        return None
    return visitor


async def _identified_visitor(
    db: Database,
    tenant: Tenant,
    external_id: str,
    name: str | None,
    email: str | None,
    language: str | None,
    place: dict[str, str | None] | None = None,
) -> Visitor:
    query = select(Visitor).where(
        Visitor.tenant_id == tenant.id, Visitor.external_id == external_id
    )
    async with db.read() as session:
        visitor = await session.scalar(query)
    if visitor is not None:
        return await _update_profile(db, visitor, name, email, language, place)
    try:
        visitor = Visitor(
            tenant_id=tenant.id,
            external_id=external_id,
            name=name,
            email=email,
            language=language,
            **(place or {}),
        )
        async with db.write() as session:
            session.add(visitor)
        return visitor
    except IntegrityError:  # two devices signed in at the same moment
        async with db.read() as session:
            found = await session.scalar(query)
        assert found is not None
        return found


async def _update_profile(
    db: Database,
    visitor: Visitor,
    name: str | None,
    email: str | None,
    language: str | None,
    place: dict[str, str | None] | None = None,
) -> Visitor:
    given = {"name": name, "email": email, "language": language, **(place or {})}
    changes = {
        key: value for key, value in given.items() if value and getattr(visitor, key) != value
    }
    if not changes:
        return visitor
    async with db.write() as session:
        fresh = await session.get(Visitor, visitor.id)
        assert fresh is not None
        for key, value in changes.items():
            setattr(fresh, key, value)
    return fresh


async def open_conversation_for(db: Database, visitor: Principal) -> tuple[Conversation, bool]:
    """The shopper's open conversation, or a new one. Returns (conversation, created)."""
    query = (
        select(Conversation)
        .where(
            Conversation.tenant_id == visitor.tenant_id,
            Conversation.visitor_id == visitor.id,
            Conversation.status == "open",
        )
        .order_by(Conversation.created_at.desc())
        .limit(1)
    )
    async with db.write() as session:
        conversation = await session.scalar(query)
        if conversation is not None:
            return conversation, False
        conversation = Conversation(tenant_id=visitor.tenant_id, visitor_id=visitor.id)
        session.add(conversation)
    return conversation, True


async def own_visitor_row(session: AsyncSession, principal: Principal) -> Visitor:
    """The calling shopper's own row, to change in `session`; staff tokens are refused."""
    if principal.kind != "visitor":
        raise Forbidden("this needs a visitor token", "visitor_required")
    visitor = await session.get(Visitor, principal.id)
    if visitor is None or visitor.tenant_id != principal.tenant_id:
        raise Forbidden("unknown visitor", "visitor_required")
    return visitor
