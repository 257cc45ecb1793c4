"""Prefetch templates as CDS Hooks 2.0 defines them (§Prefetch tokens, §Prefetch query restrictions).

The service expands its own templates exactly as a client would, so a key the client left out can
be fetched with the same meaning. The checks run at start-up: a template a 2.0 client cannot
resolve must never be advertised in discovery.
"""

from __future__ import annotations

import re
from urllib.parse import quote

TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
# Context fields the hook library marks as prefetch tokens (root-level primitives only).
CONTEXT_TOKENS = {
    "order-select": {"userId", "patientId", "encounterId"},
    "order-sign": {"userId", "patientId", "encounterId"},
    "patient-view": {"userId", "patientId", "encounterId"},
}
_RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")
_DATE_PREFIXES = ("eq", "lt", "gt", "ge", "le")
_FORBIDDEN_PARAMS = {"_include", "_revinclude", "_has", "_elements", "_summary", "_contained", "_filter", "_query"}


class TemplateError(ValueError):
    """A template breaks the 2.0 token or query rules."""


class Unresolvable(LookupError):
    """A token has no value in this request's context (the key cannot be satisfied)."""


def resource_type(template: str) -> str:
    """The resource type a template reads or searches (its first path segment)."""
    return template.partition("?")[0].split("/")[0]


def check_template(template: str, hook: str) -> None:
    """Raise TemplateError unless `template` is a 2.0 restricted read or search with valid tokens."""
    allowed = CONTEXT_TOKENS.get(hook, set())
    for token in TOKEN.findall(template):
        if token in USER_TOKENS:
            continue
        if token.startswith("context.") and token[len("context.") :] in allowed:
            continue
        raise TemplateError(f"token {{{{{token}}}}} is not a 2.0 prefetch token for {hook}")
    if "{{" in TOKEN.sub("", template) or "}}" in TOKEN.sub("", template):
        raise TemplateError("unbalanced token delimiters")
    path, _, query = template.partition("?")
    parts = path.split("/")
    if not _RESOURCE_TYPE.match(resource_type(template)) or len(parts) > 2 or (len(parts) == 2 and not parts[1]):
        raise TemplateError(f"{template!r} is neither a type-level search nor an instance read")
    if len(parts) == 2 and query:
        raise TemplateError("an instance read takes no query")
    for pair in filter(None, query.split("&")):
        name, sep, _value = pair.partition("=")
        if not sep:
            raise TemplateError(f"query parameter {name!r} has no value")
        base, _, modifier = name.partition(":")
        if base in _FORBIDDEN_PARAMS or "." in base:
            raise TemplateError(f"parameter {name!r} is outside the restricted query subset")
        if modifier and modifier != "in":
            raise TemplateError(f"modifier :{modifier} is outside the restricted query subset")
    return None


def _user_token_value(user_id: str | None, token: str) -> str | None:
    if not user_id or "/" not in user_id:
        return None
    rtype, _, rid = user_id.partition("/")
    return rid if USER_TOKENS[token] == rtype and rid else None


def expand(template: str, context: dict) -> str:
    """Substitute tokens from the request context; raise Unresolvable when one has no value.

    Values are percent-encoded (ids are plain, but a template must never let a context value
    inject a query parameter or a path segment).
    """

    def value_of(match: re.Match) -> str:
        token = match.group(1)
        if token in USER_TOKENS:
            value = _user_token_value(context.get("userId"), token)
        else:
            value = context.get(token[len("context.") :]) if token.startswith("context.") else None
        if value is None or isinstance(value, (dict, list)) or value == "":
            raise Unresolvable(token)
        if token == "context.userId":
            return "/".join(quote(part, safe="") for part in str(value).split("/", 1))
        return quote(str(value), safe="")

    return TOKEN.sub(value_of, template)
