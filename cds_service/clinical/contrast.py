"""Contrast safety for a suggested CT: kidney function, a prior contrast reaction, pregnancy.

The suggestion is never withdrawn here: what is found is shown on the card and in the order's
note so the clinician and the radiologist decide (ACR Manual on Contrast Media: below an eGFR of
30 the risk of contrast-associated kidney injury matters; a prior allergic-like reaction calls
for premedication or an alternative; pregnancy calls for a radiation review). Codes, default
thresholds and wording are data (hooks/knowledge/contrast.json); a site file may change the
thresholds. Only the newest result inside the window counts: an old eGFR says little today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .codes import codings, concept_text
from .kidney_risk import risk_factors
from .masses import is_live

RESULT_STATUSES = ("final", "amended", "corrected")
MAX_SCANNED = 2000  # Observations looked at per request (bounded work on a huge chart)
PREGNANCY_WINDOW_DAYS = 300  # a pregnancy status older than a pregnancy says nothing today
UMOL_PER_MG_DL = 88.4


@dataclass(frozen=True)
class PregnancyCheck:
    """A site's request to say when pregnancy status is unknown (ACR-SPR: each facility sets its
    own screening policy): ages from_age..to_age inclusive, a status older than within_days is unknown."""

    from_age: int
    to_age: int
    within_days: int = 30


@dataclass(frozen=True)
class Limits:
    egfr_below: float = 30.0
    lab_window_days: int = 90
    pregnancy_check: PregnancyCheck | None = None  # off unless the site turns it on


@dataclass
class Result:
    kind: str  # "egfr" | "creatinine" | "pregnancy"
    ref: str
    date: str
    value: str  # as shown: "24 mL/min/1.73m2"
    number: float | None = None
    critical: bool = False
    low: bool = False
    estimate: float | None = None  # eGFR estimated from creatinine (CKD-EPI 2021), adults only


@dataclass
class Safety:
    renal: Result | None = None
    pregnancy: Result | None = None
    allergies: list[str] = field(default_factory=list)
    renal_missing: list[str] = field(default_factory=list)  # risk factors, when no result is in the window
    pregnancy_unknown: int | None = None  # the patient's age, when the site asks and no status is recent

    @property
    def gaps(self) -> list[str]:
        """What the chart does not show and should: 'renal-missing', 'pregnancy-unknown'."""
        return [
            name
            for name, on in (
                ("renal-missing", self.renal_missing),
                ("pregnancy-unknown", self.pregnancy_unknown is not None),
            )
            if on
        ]

    @property
    def renal_concern(self) -> bool:
        return bool(self.renal and (self.renal.low or self.renal.critical))

    @property
    def concerns(self) -> list[str]:
        """Which override reasons apply, most specific first: 'renal', 'allergy', 'pregnancy'."""
        return [
            name
            for name, on in (
                ("allergy", bool(self.allergies)),
                ("renal", self.renal_concern),
                ("pregnancy", self.pregnancy is not None),
            )
            if on
        ]


def parse_when(value) -> datetime | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    text = value.replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text if "T" in text else text[:10])
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _when(obs: dict) -> str | None:
    period = obs.get("effectivePeriod")
    if not isinstance(period, dict):
        period = {}
    for value in (obs.get("effectiveDateTime"), period.get("start"), obs.get("effectiveInstant"), obs.get("issued")):
        if parse_when(value):
            return value
    return None


_GROUPS = ("egfr", "creatinine", "pregnancy-status")
_indexes: dict[int, tuple] = {}


def _index(kb) -> tuple[dict, frozenset]:
    """(canonical system, code) -> result group, and the bare codes (a cheap first test), built once
    per knowledge object (a few per process)."""
    cached = _indexes.get(id(kb))
    if cached is None or cached[0] is not kb:
        if len(_indexes) > 8:
            _indexes.clear()
        index = {key: group for group in _GROUPS for key in kb.value_set(f"contrast/{group}").keys()}
        cached = (kb, index, frozenset(code for _, code in index))
        _indexes[id(kb)] = cached
    return cached[1], cached[2]


def results_by_group(record, kb, observations: list[dict] | None = None) -> dict[str, list[dict]]:
    """One pass over the Observations (the chart's, unless the caller narrowed them; bounded): the
    results each group may use. A coding is looked up by one dict access, so it stays cheap."""
    index, bare = _index(kb)
    groups: dict[str, list[dict]] = {group: [] for group in _GROUPS}
    for obs in (record.of_type("Observation") if observations is None else observations)[:MAX_SCANNED]:
        if obs.get("status") not in RESULT_STATUSES:
            continue
        code = obs.get("code")
        for coding in (code.get("coding") or ()) if isinstance(code, dict) else ():
            if not isinstance(coding, dict) or coding.get("code") not in bare:
                continue
            group = index.get(kb.key(coding))
            if group is not None:
                groups[group].append(obs)
                break
    return groups


def _newest(record, candidates: list[dict], since: datetime) -> tuple[dict, str] | None:
    """The newest valid (R4) result since `since`, with its date as written."""
    dated = []
    for obs in candidates:
        when = _when(obs)
        moment = parse_when(when)
        if when is not None and moment is not None and moment >= since:  # a moment implies a date
            dated.append((moment, when, obs))
    dated.sort(key=lambda item: item[0], reverse=True)
    return next(((obs, when) for _, when, obs in dated if record.valid(obs)), None)


def _quantity(obs: dict) -> tuple[float | None, str, str]:
    """(number, unit, comparator) of valueQuantity; number None when not a plain number."""
    q = obs.get("valueQuantity")
    if not isinstance(q, dict) or isinstance(q.get("value"), bool) or not isinstance(q.get("value"), (int, float)):
        return None, "", ""
    unit = q.get("unit") or q.get("code") or ""
    return float(q["value"]), unit if isinstance(unit, str) else "", q.get("comparator") or ""


def _critical(obs: dict, kb) -> bool:
    return kb.value_set("contrast/critical-interpretation").first(obs.get("interpretation") or []) is not None


def ckd_epi_2021(creatinine_mg_dl: float, age: int, female: bool) -> float:
    """Race-free CKD-EPI 2021 creatinine equation (Inker et al., NEJM 2021), mL/min/1.73 m2."""
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    egfr = 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938**age
    return egfr * 1.012 if female else egfr


def _mg_dl(number: float, unit: str) -> float | None:
    lowered = unit.replace(" ", "").lower()
    if lowered in ("mg/dl",):
        return number
    if lowered in ("umol/l", "µmol/l", "μmol/l", "micromol/l"):
        return number / UMOL_PER_MG_DL
    return None


def renal_function(
    record, kb, limits: Limits, now: datetime, patient: dict | None, age: int | None, groups: dict | None = None
) -> Result | None:
    groups = groups if groups is not None else results_by_group(record, kb)
    since = now - timedelta(days=limits.lab_window_days)
    found = _newest(record, groups["egfr"], since)
    if found:
        obs, when = found
        number, unit, comparator = _quantity(obs)
        shown = f"{comparator}{number:g} {unit}".strip() if number is not None else (obs.get("valueString") or "?")
        low = number is not None and comparator not in (">", ">=") and number < limits.egfr_below
        return Result("egfr", f"Observation/{obs.get('id')}", when, str(shown)[:40], number, _critical(obs, kb), low)
    found = _newest(record, groups["creatinine"], since)
    if not found:
        return None
    obs, when = found
    number, unit, comparator = _quantity(obs)
    result = Result(
        "creatinine",
        f"Observation/{obs.get('id')}",
        when,
        f"{comparator}{number:g} {unit}".strip() if number is not None else "?",
        number,
        _critical(obs, kb),
    )
    gender = (patient or {}).get("gender")
    mg_dl = _mg_dl(number, unit) if number is not None and not comparator else None
    if mg_dl and mg_dl > 0 and age is not None and age >= 18 and gender in ("male", "female"):
        result.estimate = round(ckd_epi_2021(mg_dl, age, gender == "female"))
        result.low = result.estimate < limits.egfr_below
    return result


def pregnancy(record, kb, now: datetime, groups: dict | None = None) -> Result | None:
    groups = groups if groups is not None else results_by_group(record, kb)
    since = now - timedelta(days=PREGNANCY_WINDOW_DAYS)
    found = _newest(record, groups["pregnancy-status"], since)
    if found:
        obs, when = found
        if kb.value_set("contrast/pregnant-answer").first(obs.get("valueCodeableConcept")) is not None:
            return Result(
                "pregnancy",
                f"Observation/{obs.get('id')}",
                when,
                concept_text(obs.get("valueCodeableConcept")) or "pregnant",
            )
        return None  # the newest status says not pregnant (or unknown)
    pregnancy_codes = kb.value_set("contrast/pregnancy-condition")
    for condition in record.of_type("Condition"):
        code = condition.get("code")
        if not isinstance(code, dict) or code not in pregnancy_codes:
            continue
        if not is_live(condition) or not record.valid(condition):
            continue
        if not any(c.get("code") == "active" for c in codings(condition.get("clinicalStatus"))):
            continue
        when = condition.get("onsetDateTime") or condition.get("recordedDate") or ""
        return Result(
            "pregnancy", f"Condition/{condition.get('id')}", when, concept_text(condition.get("code")) or "pregnancy"
        )
    return None


def _status_recorded(record, groups: dict, now: datetime, days: int) -> bool:
    """Any pregnancy status result (whatever its answer) within `days`."""
    return _newest(record, groups["pregnancy-status"], now - timedelta(days=days)) is not None


def _could_be_pregnant(patient: dict | None, age: int | None, check: PregnancyCheck | None) -> bool:
    """Of child-bearing age by the site's range and not recorded as male (administrative gender
    says nothing sure about anatomy, so only 'male' is left out)."""
    return (
        check is not None
        and age is not None
        and check.from_age <= age <= check.to_age
        and (patient or {}).get("gender") != "male"
    )


def assess(
    record,
    kb,
    evidence,
    limits: Limits,
    now: datetime,
    observations: list[dict] | None = None,
    unavailable=(),
) -> Safety:
    """Everything about contrast safety the chart shows for this patient (allergies from evidence),
    and what it should show but does not. `observations`: where to look for results (default:
    every Observation of the chart); `unavailable`: optional prefetch keys that could not be
    obtained (then their absence is already said on the card, not read as a gap)."""
    groups = results_by_group(record, kb, observations)
    safety = Safety(
        renal=renal_function(record, kb, limits, now, record.patient, evidence.age, groups),
        pregnancy=pregnancy(record, kb, now, groups),
        allergies=list(evidence.contrast_allergies),
    )
    if safety.renal is None and "renalLabs" not in unavailable:
        safety.renal_missing = risk_factors(record, kb, evidence.age)
    check = limits.pregnancy_check
    if (
        safety.pregnancy is None
        and "pregnancy" not in unavailable
        and _could_be_pregnant(record.patient, evidence.age, check)
        and not _status_recorded(record, groups, now, check.within_days)  # type: ignore[union-attr]
    ):
        safety.pregnancy_unknown = evidence.age
    return safety


def _date(value: str) -> str:
    return value[:10] if value else "date not recorded"


def _gap_lines(kb, safety: Safety, limits: Limits) -> list[str]:
    words, lines = kb.contrast["wording"], []
    if safety.renal_missing:
        lines.append(words["renalMissing"].format(days=limits.lab_window_days, factors="; ".join(safety.renal_missing)))
    if safety.pregnancy_unknown is not None and limits.pregnancy_check is not None:
        lines.append(
            words["pregnancyUnknown"].format(days=limits.pregnancy_check.within_days, age=safety.pregnancy_unknown)
        )
    return lines


def findings(kb, safety: Safety, limits: Limits | None) -> list[str]:
    """One worded line per concern, in the order of Safety.concerns, then one per gap."""
    words, limits = kb.contrast["wording"], limits or Limits()
    lines = []
    for concern in safety.concerns:
        if concern == "allergy":
            note = kb.cards["fragments"]["allergyNote"]  # the one wording of the allergy line (cards.json)
            lines.append(note.format(allergies="; ".join(a[:120] for a in safety.allergies[:3])))
        elif concern == "renal":
            r = safety.renal
            assert r is not None  # "renal" is a concern only with a result
            values = {
                "value": r.value,
                "date": _date(r.date),
                "ref": r.ref,
                "threshold": f"{limits.egfr_below:g}",
                "estimate": words["estimate"].format(egfr=f"{r.estimate:g}") if r.estimate is not None else "",
            }
            key = (
                ("egfrLow" if r.low else "egfrCritical")
                if r.kind == "egfr"
                else ("creatinineLow" if r.low else "creatinineCritical")
            )
            lines.append(words[key].format(**values))
        else:
            p = safety.pregnancy
            assert p is not None  # "pregnancy" is a concern only with a finding
            lines.append(words["pregnancy"].format(what=p.value[:80], date=_date(p.date), ref=p.ref))
    return lines + _gap_lines(kb, safety, limits)


def card_section(kb, safety: Safety | None, limits: Limits, suggests_ct: bool = True) -> str:
    """The card's contrast safety section; its last line says whether the card still suggests the
    CT or is about a CT already drafted (a card never says a CT is suggested when it is not)."""
    if safety is None or not (safety.concerns or safety.gaps):
        return ""
    words = kb.contrast["wording"]
    closing = words["closing"] if suggests_ct else words["closingOrdered"]
    return "\n".join([words["heading"], *findings(kb, safety, limits), "", closing])


def order_note(kb, safety: Safety | None, limits: Limits) -> str | None:
    if safety is None or not (safety.concerns or safety.gaps):
        return None
    lines = [line.lstrip("- ").replace("**", "") for line in findings(kb, safety, limits)]
    return kb.contrast["wording"]["orderNote"].format(findings=" ".join(lines))


def override_first(kb, safety: Safety | None) -> list[str]:
    """The override reasons that match what was found, to be offered first."""
    if safety is None:
        return []
    reasons = kb.contrast["overrideReasons"]
    return [reasons[c] for c in safety.concerns]
