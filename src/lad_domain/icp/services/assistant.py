"""The ICP assistant: a member describes who they sell to, turn by turn; each turn the
model reads the message into an update of the conversation's ICP document, and the
assistant answers with what it understood and what it still needs. Every call to the model
records its tokens as a usage event priced by provider and model; a keyword's related
terms come from the expansion cache, which asks the model only on a miss.

The model is called outside any transaction: the turn is checked (and what the model may
cost held) in one, the answer written in another, so a slow model holds no lock and a
failed one leaves nothing half-written."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import attrs

from lad_domain.billing.model import UsageItem
from lad_domain.billing.ports import PostingContext
from lad_domain.billing.services.metered import hold_estimate, settle
from lad_domain.icp.events import ConversationStarted, IcpUpdated
from lad_domain.icp.model import (
    FIELDS,
    HISTORY_TURNS,
    MAX_MESSAGE,
    Conversation,
    ConversationStatus,
    ExpansionStats,
    IcpDocument,
    KeywordExpansion,
    Message,
    Role,
    normalise_keyword,
)
from lad_domain.icp.policy import FEATURE, IcpPermission
from lad_domain.icp.ports import (
    Extraction,
    IcpExtractor,
    IcpUnitOfWork,
    ModelError,
    ModelErrorKind,
    Turn,
    Usage,
)
from lad_domain.shared.errors import (
    Conflict,
    InsufficientFunds,
    NotFound,
    PermissionDenied,
    Unavailable,
    ValidationFailed,
)
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.principal import Role as MemberRole
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import choice, normalise_email, plain_text

ACTOR = "system:icp"
T = TypeVar("T")
#: About what the instructions of a keyword expansion take, for its hold.
EXPAND_PROMPT_TOKENS = 300
#: Related keywords shown per keyword in an answer.
SHOWN_RELATED = 5
CONTEXTS = ("keyword", "industry", "title", "location")
_LABELS = {"titles": "job titles", "seniorities": "seniority",
           "headcounts": "company size", "person_locations": "where they are",
           "organization_locations": "where their companies are",
           "industries": "industries", "keywords": "keywords", "domains": "company domains"}


@attrs.frozen
class AssistantTurn:
    """One exchange: the member's message, the assistant's answer, the ICP after it."""

    conversation: Conversation
    question: Message
    answer: Message
    changed: tuple[str, ...]
    missing: tuple[str, ...]
    related: Mapping[str, tuple[str, ...]]


@attrs.frozen
class ExpansionAnswer:
    keyword: str
    context: str
    keywords: tuple[str, ...]
    cached: bool


def message_text(value: object) -> str:
    """A message as typed: not empty, at most MAX_MESSAGE characters, no control characters
    but line breaks and tabs."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.single("content", "must be a non-empty message")
    if len(value) > MAX_MESSAGE:
        raise ValidationFailed.single("content", f"must be at most {MAX_MESSAGE:,} characters "
                                      f"(this one has {len(value):,}); describe your ideal "
                                      "customer in a few sentences")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value) or "\x7f" in value:
        raise ValidationFailed.single("content", "must not contain control characters")
    return value.strip()


def model_failure(error: ModelError, *, field: str = "content") -> Exception:
    """A model's failure as the caller sees it: a refusal names the message; anything
    else is the model being unavailable (503, with when to retry if known)."""
    if error.kind is ModelErrorKind.REFUSED:
        return ValidationFailed.single(field, f"the assistant declined it: {error.message}")
    return Unavailable(f"the ICP assistant's model is unavailable: {error.message}"
                       if error.kind is not ModelErrorKind.NOT_CONFIGURED else error.message,
                       retry_after=error.retry_after)


def token_items(usage: Usage) -> tuple[UsageItem, ...]:
    """The tokens of a model call, priced by its provider and model."""
    return tuple(UsageItem(category=category, quantity=Decimal(tokens),
                           provider=usage.provider, model=usage.model)
                 for category, tokens in (("llm_input_tokens", usage.input_tokens),
                                          ("llm_output_tokens", usage.output_tokens))
                 if tokens)


def reply(document: IcpDocument, changed: Sequence[str],
          related: Mapping[str, tuple[str, ...]]) -> str:
    """The assistant's answer: what it understood, then what it still needs."""
    lines = []
    if changed:
        lines.append("Noted: " + ", ".join(_LABELS.get(f, f) for f in changed) + ".")
    else:
        lines.append("I did not find anything new about your ideal customer in that.")
    understood = _summary(document)
    if understood:
        lines.append("So far, your ideal customer is:")
        lines.extend(f"- {line}" for line in understood)
    for keyword, terms in sorted(related.items()):
        if terms:
            lines.append(f"Related to {keyword!r}: " + ", ".join(terms[:SHOWN_RELATED]) + ".")
    needs = document.missing()
    if needs:
        lines.append("To search well I still need " + "; ".join(needs) + ".")
    else:
        lines.append("That is enough to search: preview the people it finds, or save it as "
                     "a profile.")
    return "\n".join(lines)


def _summary(document: IcpDocument) -> list[str]:
    parts = []
    if document.titles:
        parts.append("job titles: " + ", ".join(document.titles))
    if document.seniorities:
        parts.append("seniority: " + ", ".join(document.seniorities))
    if document.headcounts:
        parts.append("company size: " + ", ".join(f"{r.minimum:,}-{r.maximum:,} employees"
                                                   for r in document.headcounts))
    if document.person_locations:
        parts.append("located in: " + ", ".join(document.person_locations))
    if document.organization_locations:
        parts.append("companies based in: " + ", ".join(document.organization_locations))
    if document.industries:
        parts.append("industries: " + ", ".join(document.industries))
    if document.keywords:
        parts.append("keywords: " + ", ".join(document.keywords))
    if document.domains:
        parts.append("companies: " + ", ".join(document.domains))
    return parts


def changed_fields(before: IcpDocument, after: IcpDocument) -> tuple[str, ...]:
    return tuple(f for f in FIELDS if getattr(before, f) != getattr(after, f))


@attrs.define
class IcpAssistant:
    scope: TenantScope[IcpUnitOfWork]
    extractor: IcpExtractor

    # --- conversations --------------------------------------------------------------------

    def start(self, principal: Principal, *, title: object = None, member: object = None,
              tenant_id: uuid.UUID | None = None) -> Conversation:
        """A new conversation of the acting member; the operator (or an API key) names the
        member it is for (``member``: their email)."""
        name = plain_text(title, field="title", max_length=200) if title is not None else None
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, IcpPermission.USE)
            user_id = _member(uow, principal, member)
            conversation = Conversation(id=self.scope.ids.new_id(), tenant_id=tenant_of(uow),
                                        user_id=user_id, created_at=now, updated_at=now,
                                        title=name or None)
            uow.conversations.add(conversation)
            self.scope.record(uow, ConversationStarted(aggregate_id=conversation.id))
            uow.commit()
        return conversation

    def get(self, principal: Principal, conversation_id: uuid.UUID, *,
            tenant_id: uuid.UUID | None = None) -> Conversation:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, IcpPermission.READ)
            return _conversation(uow, conversation_id)

    def list(self, principal: Principal, page: PageRequest, *, mine: bool = False,
             tenant_id: uuid.UUID | None = None) -> Page[Conversation]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, IcpPermission.READ)
            return uow.conversations.list(principal.user_id if mine else None, page)

    def messages(self, principal: Principal, conversation_id: uuid.UUID, page: PageRequest,
                 *, tenant_id: uuid.UUID | None = None) -> Page[Message]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, IcpPermission.READ)
            _conversation(uow, conversation_id)
            return uow.icp_messages.list(conversation_id, page)

    def set_status(self, principal: Principal, conversation_id: uuid.UUID, status: object, *,
                   tenant_id: uuid.UUID | None = None) -> Conversation:
        wanted = choice(ConversationStatus, status, field="status")
        with self.scope.open(principal, tenant_id) as uow:
            role = self.scope.require(uow, principal, IcpPermission.USE)
            conversation = _conversation(uow, conversation_id, lock=True)
            _own(principal, role, conversation)
            conversation.status = wanted
            conversation.updated_at = self.scope.clock.now()
            uow.conversations.update(conversation)
            uow.commit()
        return conversation

    def set_icp(self, principal: Principal, conversation_id: uuid.UUID, icp: object, *,
                tenant_id: uuid.UUID | None = None) -> Conversation:
        """The member edits the document directly (it replaces the one the turns built)."""
        document = IcpDocument.from_json(icp)
        with self.scope.open(principal, tenant_id) as uow:
            role = self.scope.require(uow, principal, IcpPermission.USE)
            conversation = _conversation(uow, conversation_id, lock=True)
            _own(principal, role, conversation)
            changed = changed_fields(conversation.icp, document)
            conversation.icp = document
            conversation.updated_at = self.scope.clock.now()
            uow.conversations.update(conversation)
            if changed:
                self.scope.record(uow, IcpUpdated(aggregate_id=conversation.id, fields=changed))
            uow.commit()
        return conversation

    # --- a turn ---------------------------------------------------------------------------

    def say(self, principal: Principal, conversation_id: uuid.UUID, content: object, *,
            tenant_id: uuid.UUID | None = None) -> AssistantTurn:
        """One turn: the message read by the model, the ICP updated, the answer stored, the
        tokens billed; all of it or, when the model fails, none of it."""
        text = message_text(content)
        now = self.scope.clock.now()
        hold_key = f"icp-turn:{self.scope.ids.new_id()}"
        with self.scope.open(principal, tenant_id) as uow:
            role = self.scope.require(uow, principal, IcpPermission.USE)
            conversation = _conversation(uow, conversation_id)
            _own(principal, role, conversation)
            if conversation.status is not ConversationStatus.ACTIVE:
                raise Conflict(f"this conversation is {conversation.status.value}: set it "
                               "active to continue it, or start another")
            history = [Turn(m.role.value, m.content)
                       for m in uow.icp_messages.recent(conversation_id, HISTORY_TURNS)]
            hold = self._hold(uow, principal, now, _estimate_tokens(text, history), hold_key)
            uow.commit()
            current = conversation.icp
        extraction = self._call_model(principal, tenant_id, hold,
                                      lambda: self.extractor.extract(text, history, current))
        new_keywords = sorted(set(extraction.update.document.keywords) - set(current.keywords))
        related = {k: self._related(principal, tenant_id, k, "keyword") for k in new_keywords}
        return self._write_turn(principal, tenant_id, conversation_id, text, extraction,
                                related, hold)

    def _write_turn(self, principal: Principal, tenant_id: uuid.UUID | None,
                    conversation_id: uuid.UUID, text: str, extraction: Extraction,
                    related: Mapping[str, tuple[str, ...]], hold: uuid.UUID | None
                    ) -> AssistantTurn:
        now = self.scope.clock.now()
        usage = extraction.usage
        with self.scope.open(principal, tenant_id) as uow:
            conversation = _conversation(uow, conversation_id, lock=True)
            before = conversation.icp
            after = before.apply(extraction.update)
            context = PostingContext(actor=ACTOR, now=now, ids=self.scope.ids,
                                     user_id=principal.user_id)
            too_big = after.limit_problem()
            if too_big is not None:
                # The model was asked and is paid for; the ICP stays as it was.
                settle(uow, context, hold, feature=FEATURE, items=token_items(usage),
                       key=f"icp-turn:{self.scope.ids.new_id()}",
                       payload={"refused": too_big.message, "model": usage.model})
                uow.commit()
                raise ValidationFailed.single(
                    "content", f"this would make the ICP's {too_big.field} too big "
                    f"({too_big.message}): remove some first, or correct the field")
            changed = changed_fields(before, after)
            question = Message(id=self.scope.ids.new_id(), conversation_id=conversation.id,
                               role=Role.USER, content=text, created_at=now,
                               tokens_used=usage.input_tokens, model=usage.model)
            answer = Message(
                id=self.scope.ids.new_id(), conversation_id=conversation.id,
                role=Role.ASSISTANT, content=reply(after, changed, related), created_at=now,
                tokens_used=usage.output_tokens, model=usage.model,
                metadata={"icp": after.to_json(), "update": extraction.update.to_json(),
                          "changed": list(changed), "missing": after.missing(),
                          "related": {k: list(v) for k, v in related.items()},
                          "provider": usage.provider})
            uow.icp_messages.add(question)
            uow.icp_messages.add(answer)
            conversation.icp = after
            conversation.updated_at = now
            if conversation.title is None:
                conversation.title = _title(text)
            uow.conversations.update(conversation)
            settle(uow, context, hold, feature=FEATURE, items=token_items(usage),
                   key=f"icp-turn:{answer.id}",
                   payload={"message": str(answer.id), "input": usage.input_tokens,
                            "output": usage.output_tokens, "model": usage.model})
            if changed:
                self.scope.record(uow, IcpUpdated(aggregate_id=conversation.id, fields=changed))
            uow.commit()
        return AssistantTurn(conversation=conversation, question=question, answer=answer,
                             changed=changed, missing=tuple(after.missing()), related=related)

    def _hold(self, uow: IcpUnitOfWork, principal: Principal, now: datetime,
              input_tokens: int, key: str) -> uuid.UUID | None:
        """Hold the most the model call may cost, retries included (402 when the wallet
        cannot pay it); a model that is not configured is a 503 before anything is held."""
        try:
            budget = self.extractor.worst_case(input_tokens)
        except ModelError as error:
            raise model_failure(error) from None
        context = PostingContext(actor=ACTOR, now=now, ids=self.scope.ids,
                                 user_id=principal.user_id)
        return hold_estimate(uow, context, feature=FEATURE, items=token_items(budget),
                             client_key=key)

    def _call_model(self, principal: Principal, tenant_id: uuid.UUID | None,
                    hold: uuid.UUID | None, call: Callable[[], T]) -> T:
        """The model asked outside any transaction. Whatever ends the call (a model's
        error, a bug, a cancelled request), the hold goes back now, and the tokens a failed
        call spent are billed."""
        try:
            return call()
        except BaseException as error:
            spent = error.usage if isinstance(error, ModelError) else None
            with self.scope.open(principal, tenant_id) as uow:
                context = PostingContext(actor=ACTOR, now=self.scope.clock.now(),
                                         ids=self.scope.ids, user_id=principal.user_id)
                settle(uow, context, hold, feature=FEATURE,
                       items=token_items(spent) if spent is not None else (),
                       key=f"icp-failed:{self.scope.ids.new_id()}",
                       payload={"model": spent.model if spent else "",
                                "input": spent.input_tokens if spent else 0,
                                "output": spent.output_tokens if spent else 0})
                uow.commit()
            if isinstance(error, ModelError):
                raise model_failure(error) from None
            raise

    # --- keyword expansion ----------------------------------------------------------------

    def expand(self, principal: Principal, keyword: object, context: object = "keyword", *,
               tenant_id: uuid.UUID | None = None) -> ExpansionAnswer:
        """A keyword's related terms: from the cache when it has them (free), else from the
        model, billed, and kept for every later ask."""
        word = normalise_keyword(keyword)
        about = _context(context)
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, IcpPermission.USE)
        terms, cached = self._expansion(principal, tenant_id, word, about)
        return ExpansionAnswer(keyword=word, context=about, keywords=terms, cached=cached)

    def expansion_stats(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                        ) -> ExpansionStats:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, IcpPermission.READ)
            return uow.keyword_expansions.stats()

    def _related(self, principal: Principal, tenant_id: uuid.UUID | None, word: str,
                 about: str) -> tuple[str, ...]:
        try:
            return self._expansion(principal, tenant_id, normalise_keyword(word), about)[0]
        except (ValidationFailed, Unavailable, InsufficientFunds):
            return ()  # related terms are a suggestion: a turn does not fail without them

    def _expansion(self, principal: Principal, tenant_id: uuid.UUID | None, word: str,
                   about: str) -> tuple[tuple[str, ...], bool]:
        now = self.scope.clock.now()
        key = f"icp-expand:{self.scope.ids.new_id()}"
        with self.scope.open(principal, tenant_id) as uow:
            found = uow.keyword_expansions.find(word, about)
            if found is not None:
                uow.keyword_expansions.record_hit(found.id, now)
                uow.commit()
                return found.expanded, True
            hold = self._hold(uow, principal, now, EXPAND_PROMPT_TOKENS, key)
            uow.commit()
        expansion = self._call_model(principal, tenant_id, hold,
                                     lambda: self.extractor.expand(word, about))
        usage = expansion.usage
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            # The offline extractor's answer is the same for everyone: a global row any
            # tenant may reuse. A model's answer was paid for by this tenant: its own row.
            shared = usage.provider == "lad"
            uow.keyword_expansions.add(KeywordExpansion(
                id=self.scope.ids.new_id(), original_keyword=word, context=about,
                expanded=expansion.keywords, created_at=now, updated_at=now,
                tenant_id=None if shared else tenant_of(uow), model=usage.model))
            context = PostingContext(actor=ACTOR, now=now, ids=self.scope.ids,
                                     user_id=principal.user_id)
            settle(uow, context, hold, feature=FEATURE, items=token_items(usage), key=key,
                   payload={"keyword": word, "context": about, "model": usage.model})
            uow.commit()
        return expansion.keywords, False


def _estimate_tokens(text: str, history: Sequence[Turn]) -> int:
    """A generous count of the tokens a model is sent: about four characters each, plus
    the instructions."""
    return 1000 + (len(text) + sum(len(t.content) for t in history)) // 3


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 60 else line[:57].rstrip() + "..."


def _context(value: object) -> str:
    if value is None or value == "":
        return "keyword"
    if not isinstance(value, str) or value not in CONTEXTS:
        raise ValidationFailed.single("context", "must be one of " + ", ".join(CONTEXTS))
    return value


def _member(uow: IcpUnitOfWork, principal: Principal, member: object) -> uuid.UUID:
    """Whose conversation it is: the acting member, or the member named by email."""
    if member is None:
        if principal.user_id is None:
            raise ValidationFailed.single("member", "is required: a conversation belongs "
                                          "to a member; name one by email")
        return principal.user_id
    email = normalise_email(member, field="member")
    user = uow.users.get_by_email(email)
    found = uow.memberships.get(user.id) if user is not None else None
    if user is None or found is None:
        raise ValidationFailed.single("member", f"{email} is not a member of this tenant")
    if principal.user_id is not None and user.id != principal.user_id:
        raise PermissionDenied("a member starts their own conversations")
    return user.id


def _own(principal: Principal, role: MemberRole | None, conversation: Conversation) -> None:
    """A member continues their own conversations; admins anyone's."""
    junior = role is not None and role.rank < MemberRole.ADMIN.rank
    if junior and conversation.user_id != principal.user_id:
        raise PermissionDenied("this conversation belongs to another member")


def _conversation(uow: IcpUnitOfWork, conversation_id: uuid.UUID, *, lock: bool = False
                  ) -> Conversation:
    found = uow.conversations.get(conversation_id, lock=lock)
    if found is None:
        raise NotFound("conversation not found")
    return found
