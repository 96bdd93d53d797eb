"""Translation over REST: the tenant's languages and models, the glossary, agent previews,
and the shopper's chosen language."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StringConstraints

from server.api.deps import CurrentAdmin, CurrentAgent, CurrentPrincipal, RuntimeDep
from server.chat import conversation_for
from server.errors import BadRequest, Unavailable
from server.store.models import Tenant
from server.translating import DEFAULT_LANGUAGES, Translator
from server.visitors import own_visitor_row
from translation.glossary import Glossary

router = APIRouter(tags=["translation"])

Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


class TranslationSettings(BaseModel):
    languages: list[Language] | None = Field(default=None, max_length=50)
    glossary: dict[str, Any] | None = None


class PreviewRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class LanguageChoice(BaseModel):
    language: Language


def _translator(request: Request) -> Translator:
    translator: Translator | None = request.app.state.translator
    if translator is None:
        raise Unavailable("translation is turned off on this server", "translation_disabled")
    return translator


@router.get("/api/v1/translation")
async def translation_status(
    request: Request, agent: CurrentAgent, runtime: RuntimeDep
) -> dict[str, Any]:
    """The tenant's languages, the installed models, and the glossary."""
    async with runtime.db.read() as session:
        tenant = await session.get(Tenant, agent.tenant_id)
    settings = tenant.settings if tenant else {}
    translator: Translator | None = request.app.state.translator
    pairs: list[list[str]] = []
    if translator is not None:
        engine = translator.service.engine
        pairs = sorted([pair.source, pair.target] for pair in engine.installed_pairs())
    return {
        "enabled": translator is not None,
        "languages": settings.get("languages") or list(DEFAULT_LANGUAGES),
        "installed_pairs": pairs,
        "glossary": settings.get("glossary") or {},
    }


@router.put("/api/v1/translation/settings")
async def update_translation_settings(
    body: TranslationSettings, admin: CurrentAdmin, runtime: RuntimeDep
) -> dict[str, Any]:
    """Set the languages detection chooses among and the glossary (admins)."""
    if body.glossary is not None:
        try:
            Glossary.from_json(body.glossary)
        except (TypeError, ValueError, KeyError) as exc:
            raise BadRequest(f"the glossary is not valid: {exc}", "invalid_glossary") from exc
    async with runtime.db.write() as session:
        tenant = await session.get(Tenant, admin.tenant_id)
        assert tenant is not None
        settings = dict(tenant.settings)
        if body.languages is not None:
            settings["languages"] = body.languages
        if body.glossary is not None:
            settings["glossary"] = body.glossary
        tenant.settings = settings
    runtime.tenant_settings.forget(admin.tenant_id)
    return {"languages": settings.get("languages"), "glossary": settings.get("glossary") or {}}


@router.post("/api/v1/conversations/{conversation_id}/translation-preview")
async def preview_translation(
    conversation_id: str,
    body: PreviewRequest,
    request: Request,
    agent: CurrentAgent,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """How the agent's draft will read to the shopper, before it is sent."""
    async with runtime.db.read() as session:
        conversation = await conversation_for(session, agent, conversation_id)
    translator = _translator(request)
    result = await translator.preview(agent, conversation, body.text)
    return result.to_json()


@router.put("/api/v1/widget/language")
async def choose_language(
    body: LanguageChoice, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """The shopper picks the language to read the chat in."""
    async with runtime.db.write() as session:
        visitor = await own_visitor_row(session, principal)
        visitor.language = body.language
    return {"language": body.language}
