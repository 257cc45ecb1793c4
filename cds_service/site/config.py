"""The site file (CDS_SITE_CONFIG): parsed, checked against hooks/schemas/site.schema.json and
against the knowledge it refers to, and turned into what the pipeline reads.

A committee member edits this file, so every error names the file and the key ("site.json:
cardKinds/mri-befor-ct: unknown card kind"), and a bad file stops start-up instead of being
half applied. Local orderable codes are merged into a copy of the knowledge (order classes and
their one-lookup index); the shipped knowledge is never changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..clinical.contrast import Limits, PregnancyCheck
from ..clinical.workup import PEDIATRIC_BELOW
from ..content import ContentError
from .options import OPTIONS, discovery_document

MAX_SITE_BYTES = 1024 * 1024
DEFAULT_SUPPRESSION_HOURS = 24.0


@dataclass(frozen=True)
class SiteConfig:
    path: str | None
    doc: dict
    knowledge: object  # clinical.Knowledge with the site's local codes merged
    discovery_body: bytes
    secret: bytes | None = field(default=None, repr=False)

    @property
    def pediatric_below(self) -> int:
        return self.doc.get("pediatricAgeBelow", PEDIATRIC_BELOW)

    def neonate_below_days(self, kb) -> int:
        return self.doc.get("neonateAgeBelowDays", kb.rules["neonateBelowDays"])

    def limits(self, kb) -> Limits:
        defaults, site = kb.contrast["defaults"], self.doc.get("contrast") or {}
        asked = site.get("pregnancyStatus")
        return Limits(
            float(site.get("egfrBelow", defaults["egfrBelow"])),
            int(site.get("labWindowDays", defaults["labWindowDays"])),
            PregnancyCheck(asked["fromAge"], asked["toAge"], asked.get("withinDays", 30)) if asked else None,
        )

    def mode(self, service_id: str) -> str:
        return ((self.doc.get("services") or {}).get(service_id) or {}).get("mode", "live")

    def card_kind(self, kind: str) -> dict:
        return (self.doc.get("cardKinds") or {}).get(kind) or {}

    @property
    def max_cards(self) -> int | None:
        return self.doc.get("maxCardsPerResponse")

    @property
    def suppression_enabled(self) -> bool:
        return bool((self.doc.get("suppression") or {}).get("enabled"))

    @property
    def suppression_seconds(self) -> int:
        return int(float((self.doc.get("suppression") or {}).get("hours", DEFAULT_SUPPRESSION_HOURS)) * 3600)

    @property
    def per_call_options(self) -> tuple[str, ...]:
        return allowed_options(self.doc)


def allowed_options(doc: dict) -> tuple[str, ...]:
    """The per-call options an EHR may set: those the site file lists (all when absent), less the
    ones that would do nothing here (suppress-repeats while suppression is off)."""
    listed = OPTIONS if doc.get("perCallOptions") is None else doc["perCallOptions"]
    suppressing = bool((doc.get("suppression") or {}).get("enabled"))
    return tuple(code for code in listed if suppressing or code != "suppress-repeats")


def _fail(path, key: str, message: str):
    raise ContentError(f"{path}: {key}: {message}")


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SITE_BYTES + 1)
    except OSError as exc:
        raise ContentError(f"{path}: cannot read the site file ({exc.strerror or exc})") from None
    if len(data) > MAX_SITE_BYTES:
        raise ContentError(f"{path}: (root): larger than {MAX_SITE_BYTES} bytes")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ContentError(f"{path}: (root): not valid JSON: {exc}") from None
    return doc


def _merge_codes(kb, path, local: dict):
    """A copy of kb whose order index also maps the site's codes to their class; a code already
    owned by another class is an error (it would make the class of an order ambiguous)."""
    if not local:
        return kb
    index = dict(kb.order_index)
    for cid, codes in local.items():
        if cid not in kb.order_classes:
            _fail(path, f"orderCodes/{cid}", f"unknown order class; known: {sorted(kb.order_classes)}")
        for i, code in enumerate(codes):
            key = kb.key(code)
            owner = index.get(key)
            if owner is not None and owner != cid:
                _fail(path, f"orderCodes/{cid}/{i}", f"code {code['code']} already belongs to class {owner}")
            index[key] = cid
    return replace(kb, order_index=index)


def load_site(path: str | None, schemas, services: dict, kb, secret: bytes | None) -> SiteConfig:
    """The site configuration in `path` (None: the shipped behaviour); ContentError naming file and key."""
    if path is None:
        doc = {}
    else:
        doc = _read(Path(path))
        problems = sorted(schemas.validator("site.schema.json").iter_errors(doc), key=lambda e: list(e.absolute_path))
        if problems:
            where = "/".join(str(p) for p in problems[0].absolute_path) or "(root)"
            _fail(path, where, problems[0].message[:300])
    for kind in doc.get("cardKinds") or {}:
        if kind not in kb.cards["kinds"]:
            _fail(path, f"cardKinds/{kind}", f"unknown card kind; known: {sorted(kb.cards['kinds'])}")
    asked = (doc.get("contrast") or {}).get("pregnancyStatus") or {}
    if asked and asked["fromAge"] > asked["toAge"]:
        _fail(path, "contrast/pregnancyStatus", "fromAge is above toAge")
    for service_id in doc.get("services") or {}:
        if service_id not in services:
            _fail(path, f"services/{service_id}", f"unknown service id; known: {sorted(services)}")
    if (doc.get("suppression") or {}).get("enabled") and not secret:
        _fail(
            path,
            "suppression/enabled",
            "needs CDS_SUPPRESSION_SECRET (at least 32 characters) in the environment; "
            "patient ids are only ever stored as a keyed hash",
        )
    if "suppress-repeats" in (doc.get("perCallOptions") or ()) and not (doc.get("suppression") or {}).get("enabled"):
        _fail(path, "perCallOptions", "suppress-repeats does nothing unless suppression.enabled is true")
    knowledge = _merge_codes(kb, path, doc.get("orderCodes") or {})
    body = discovery_document(services, allowed_options(doc), doc)
    return SiteConfig(path, doc, knowledge, body, secret)
