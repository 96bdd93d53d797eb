"""Inline translation in the chat: every new message into each reader's language.

Installed by `install(runtime, service)` as an `after_post` hook, so it runs after the
message was committed, acked and delivered in its original (DESIGN.md, step 6). The
readers of a conversation are its shopper (the visitor's language, else the language
the shopper writes in) and the tenant's agents (each agent's profile language). The
source language is detected among the tenant's languages; a short or unsure line keeps
the conversation's language (for the shopper) or the agent's profile language.

The result is ONE `message.translated` event per message, with a seq like any event,
holding a translation per target language:

    {"message_id", "message_seq", "source_language",
     "translations": {"zh": {"text", "translated", "flags", "reason", ...}, ...}}

A target whose pair has no model is included the first time per conversation (so the
reader's UI can say why, once) and left out afterwards. The original text is never
changed. Tenant settings used: `languages` (detection candidates) and `glossary`
(`translation.glossary.Glossary` JSON).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from server.auth import Principal
from server.chat import Posted, append_event
from server.runtime import Runtime
from server.store.models import Agent, Conversation, Visitor
from translation.glossary import Glossary
from translation.service import Flag, TranslationResult, TranslationService

log = logging.getLogger(__name__)

DEFAULT_LANGUAGES = ("en", "zh", "es", "de", "fr", "pt", "ar", "ja", "ko", "ru", "it")
_REPORTED_LIMIT = 10_000


def _context_of(settings: Mapping[str, Any]) -> tuple[list[str], Glossary | None]:
    languages = list(settings.get("languages") or DEFAULT_LANGUAGES)
    glossary_data = settings.get("glossary")
    return languages, Glossary.from_json(glossary_data) if glossary_data else None


class Translator:
    """The chat side of translation for one node."""

    def __init__(self, runtime: Runtime, service: TranslationService) -> None:
        self.runtime = runtime
        self.service = service
        self._reported_missing: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    async def tenant_context(self, tenant_id: str) -> tuple[list[str], Glossary | None]:
        """The tenant's languages and glossary (compiled once per settings fill)."""
        return await self.runtime.tenant_settings.derived(tenant_id, "translation", _context_of)

    async def readers(
        self, conversation: Conversation
    ) -> tuple[Visitor | None, set[str], dict[str, str]]:
        """The shopper, the agents' languages, and each agent's language by id."""
        async with self.runtime.db.read() as session:
            visitor = await session.get(Visitor, conversation.visitor_id)
            rows = await session.execute(
                select(Agent.id, Agent.language).where(
                    Agent.tenant_id == conversation.tenant_id, Agent.active.is_(True)
                )
            )
            agent_languages = {agent_id: language for agent_id, language in rows.all()}
        return visitor, set(agent_languages.values()), agent_languages

    def _first_report(self, conversation_id: str, target: str, source: str) -> bool:
        key = (conversation_id, source, target)
        if key in self._reported_missing:
            return False
        self._reported_missing[key] = None
        if len(self._reported_missing) > _REPORTED_LIMIT:
            self._reported_missing.popitem(last=False)
        return True

    async def on_message(self, runtime: Runtime, author: Principal, posted: Posted) -> None:
        message = posted.message
        text = message.text or ""
        languages, glossary = await self.tenant_context(author.tenant_id)
        visitor, agent_languages, by_agent = await self.readers(posted.conversation)
        conversation = posted.conversation

        if author.kind == "visitor":
            fallback = conversation.language or (visitor.language if visitor else None)
        else:
            fallback = by_agent.get(author.id)
        source = self.service.detect(text, languages) or fallback
        shopper_language = (visitor.language if visitor else None) or conversation.language
        if author.kind == "visitor" and source and not shopper_language:
            shopper_language = source
        targets = set(agent_languages)
        if shopper_language:
            targets.add(shopper_language)
        targets.discard(source or "")
        if author.kind == "visitor" and source and source != conversation.language:
            await self._remember_conversation_language(conversation.id, source)
        if not targets or source is None:
            return

        results = await asyncio.gather(
            *(
                self.service.translate(text, source, target, glossary, candidates=languages)
                for target in sorted(targets)
            )
        )
        translations = {
            result.target: self._entry(result)
            for result in results
            if self._worth_sending(conversation.id, source, result)
        }
        if not translations:
            return
        async with runtime.db.write() as session:
            locked = await session.scalar(
                select(Conversation).where(Conversation.id == conversation.id).with_for_update()
            )
            if locked is None:
                return
            event = append_event(
                session,
                locked,
                "message.translated",
                None,
                {
                    "message_id": message.id,
                    "message_seq": message.seq,
                    "source_language": source,
                    "translations": translations,
                },
            )
        await runtime.notifier.publish_events(author.tenant_id, locked.visitor_id, [event])

    def _worth_sending(self, conversation_id: str, source: str, result: TranslationResult) -> bool:
        if result.translated:
            return True
        if Flag.SAME_LANGUAGE in result.flags or Flag.NOTHING_TO_TRANSLATE in result.flags:
            return False
        if Flag.NO_MODEL in result.flags:
            return self._first_report(conversation_id, result.target, source)
        return True  # damaged span, overloaded, engine error: the reader is told why

    @staticmethod
    def _entry(result: TranslationResult) -> dict[str, Any]:
        data = result.to_json()
        return {
            key: data[key]
            for key in ("text", "translated", "flags", "reason", "model_version", "missing_pairs")
        }

    async def _remember_conversation_language(self, conversation_id: str, language: str) -> None:
        async with self.runtime.db.write() as session:
            row = await session.get(Conversation, conversation_id)
            if row is not None:
                row.language = language
                visitor = await session.get(Visitor, row.visitor_id)
                if visitor is not None and not visitor.language:
                    visitor.language = language

    async def preview(
        self, agent: Principal, conversation: Conversation, text: str
    ) -> TranslationResult:
        """How an agent's draft will read to the shopper."""
        languages, glossary = await self.tenant_context(agent.tenant_id)
        async with self.runtime.db.read() as session:
            visitor = await session.get(Visitor, conversation.visitor_id)
            agent_row = await session.get(Agent, agent.id)
        target = (visitor.language if visitor else None) or conversation.language
        source = self.service.detect(text, languages) or (agent_row.language if agent_row else None)
        if target is None:
            return TranslationResult(
                text=text,
                original=text,
                source=source,
                target="",
                translated=False,
                flags=frozenset({Flag.SOURCE_UNKNOWN}),
                reason="the shopper's language is not known yet",
            )
        return await self.service.translate(text, source, target, glossary, candidates=languages)


def build_service(runtime: Runtime) -> TranslationService:
    from translation.argos import ArgosEngine
    from translation.cache import cache_from_url

    settings = runtime.settings
    models_dir = settings.resolved_translation_models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    engine = ArgosEngine(
        models_dir,
        inter_threads=settings.translation_inter_threads,
        intra_threads=settings.translation_intra_threads,
        beam_size=settings.translation_beam_size,
    )
    return TranslationService(
        engine,
        cache=cache_from_url(settings.redis_url),
        candidates=DEFAULT_LANGUAGES,
        max_wait=settings.translation_max_wait_ms / 1000,
        max_pending=settings.translation_max_pending,
        max_concurrent_batches=settings.translation_inter_threads,
    )


def install(runtime: Runtime) -> Translator:
    translator = Translator(runtime, build_service(runtime))
    runtime.hooks.after_post.append(translator.on_message)

    async def report_queue() -> None:
        while True:
            runtime.metrics.translation_queue.set(translator.service.batcher.pending)
            await asyncio.sleep(1)

    runtime.hooks.background.append(report_queue)
    return translator
