"""The rules of the generated report corpus (issue 19), by family, and the sweep and strategies.

Every rule builds one report and says what a radiologist reads in it: is there a counted, current,
deep flank-region mass with calcification that belongs to it, is there such a mass at all, and on
which side. Each rule names the decision of issue 19's label policy that its label follows (ids
such as `assert.scope`, `attrib.other-structure`). Written blind: from the issue and the decisions
only, without the reader's code or lexicon.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from tests.support import reading_vocabulary as V
from tests.support.reading_grammar import (
    FAMILIES,
    SIDES,
    Chooser,
    Item,
    Mass,
    Rule,
    Said,
    article,
    be,
    bilateral_mass,
    cap,
    diagnosis,
    fill,
    flank_mass,
    mass_only,
    mass_sentence,
    nothing,
    other,
    other_calcium,
    positive,
    refers_back,
    rule,
    sentences,
    side_word,
    tidy,
)

# attachment: calcification that belongs to the mass, in every form the decisions name ------------


@rule("attachment", "attrib.same-phrase")
def calcified_noun_phrase(c: Chooser) -> Said:
    mass = flank_mass(c)
    return positive(mass.side, mass_sentence(c, mass.calcified, diagnosis(c, mass)))


@rule("attachment", "attrib.same-phrase")
def with_or_containing(c: Chooser) -> Said:
    mass = flank_mass(c)
    phrase = f"{mass.plain} {c.say(V.ATTACH_VERBS)} {mass.calcium}"
    return positive(mass.side, mass_sentence(c, phrase, diagnosis(c, mass)))


@rule("attachment", "attrib.same-phrase")
def comma_with(c: Chooser) -> Said:
    mass = flank_mass(c)
    frame = c.say(
        ("{A_plain}, with {calcium}.", "There is {a_plain}, with {calcium}.", "{A_plain}, with {calcium} {seen}.")
    )
    return positive(mass.side, fill(frame, **mass.forms(), a_plain=article(mass.plain), seen=c.say(V.SEEN)))


@rule("attachment", "attrib.same-phrase")
def calcium_within_mass(c: Chooser) -> Said:
    mass = flank_mass(c)
    frame = c.say(
        (
            "There {be} {calcium} within {a_plain}.",
            "{Calcium} {be} {seen} within the {plain}.",
            "{Calcium} within {a_plain}.",
        )
    )
    return positive(
        mass.side, fill(frame, **mass.forms(), a_plain=article(mass.plain), plain=mass.plain, seen=c.say(V.SEEN))
    )


@rule("attachment", "attrib.same-phrase")
def mass_is_calcified(c: Chooser) -> Said:
    mass = flank_mass(c)
    frame = c.say(
        ("{A_plain}, which is {calcified}.", "{A_plain} that is {calcified}.", "{A_plain}. The {ref} is {calcified}.")
    )
    return positive(mass.side, fill(frame, **mass.forms(), calcified=c.say(V.CALCIFIED)))


@rule("attachment", "attrib.refers-back")
def following_sentence(c: Chooser) -> Said:
    mass = flank_mass(c)
    return positive(mass.side, mass_sentence(c, mass.plain), refers_back(c, mass))


@rule("attachment", "attrib.same-phrase")
def organ_as_subject(c: Chooser) -> Said:
    side = c.pick(SIDES)
    words = side_word(c, side)
    calcium, _ = c.say(V.CALCIUM)
    frame = c.say(
        (
            "The {s} kidney contains {a_sized} with {calcium}.",
            "In the {s} adrenal gland there is {a_calcified}.",
            "Arising from the upper pole of the {s} kidney is {a_calcified}.",
            "Within the {s} retroperitoneum is {a_sized} containing {calcium}.",
        )
    )
    noun = c.say(V.GENERIC_NOUNS)[0]
    sized = tidy(f"{c.say(V.SIZES)} {c.say(V.COMPOSITIONS)} {noun}")
    calcified = tidy(f"{c.say(V.SIZES + ('',))} {c.say(V.CALCIFIED)} {noun}")
    sentence = fill(frame, s=words, a_sized=article(sized), a_calcified=article(calcified), calcium=calcium)
    return positive(side, sentence)


@rule("attachment", "vocab.shorthand")
def shorthand(c: Chooser) -> Said:
    side = c.pick(SIDES)
    words = c.say({"left": ("L", "Lt", "lt"), "right": ("R", "Rt", "rt")}[side])
    frame = c.say(
        (
            "{s} renal mass w/ calcs.",
            "{s} renal lesion w/ post shadowing echogenic foci.",
            "{s} adrenal mass w/ calcs, c/w neuroblastoma.",
            "{s} kidney: 4 cm solid mass w/ hyperechoic foci w/ PAS.",
            "{s} upper pole mass w/ calc.",
        )
    )
    return positive(side, fill(frame, s=words))


# calcium absent, artefacts ---------------------------------------------------------------------


@rule("calcium_absent", "assert.negated")
def calcification_negated(c: Chooser) -> Said:
    mass = flank_mass(c)
    calcium, plural = c.say(V.CALCIUM_NEGATED)
    forms = {**mass.forms(), "calcium": calcium, "be": be(plural)}
    return mass_only(mass.side, *sentences(fill(c.say(V.CALCIUM_ABSENT), **forms)))


@rule("calcium_absent", "assert.change")
def unchanged_noncalcified(c: Chooser) -> Said:
    mass = flank_mass(c)
    return mass_only(mass.side, fill(c.say(V.CHANGE_FRAMES), **mass.forms("noncalcified")))


@rule("calcium_absent", "attrib.same-phrase")
def mass_alone(c: Chooser) -> Said:
    mass = flank_mass(c)
    return mass_only(mass.side, mass_sentence(c, mass.plain, diagnosis(c, mass)))


@rule("artefact", "attrib.artefact")
def mass_with_artefact(c: Chooser) -> Said:
    mass = flank_mass(c)
    phrase = f"{mass.plain} {c.say(('with', 'containing', 'showing'))} {c.pick(V.NOT_CALCIUM)}"
    return mass_only(mass.side, mass_sentence(c, phrase))


@rule("artefact", "attrib.artefact")
def artefact_next_sentence(c: Chooser) -> Said:
    mass = flank_mass(c)
    frame = c.pick(
        (
            "Echogenic foci within the {ref} do not shadow.",
            "The {ref} contains echogenic foci without posterior acoustic shadowing.",
            "Twinkling artefact is seen within the {ref} on colour Doppler.",
            "Echogenic foci in the {ref} show ring-down artefact, in keeping with gas.",
            "Dirty shadowing from gas is seen within the {ref}.",
        )
    )
    return mass_only(mass.side, mass_sentence(c, mass.plain), fill(frame, **mass.forms()))


@rule("artefact", "attrib.artefact")
def bowel_gas_beside_mass(c: Chooser) -> Said:
    mass = flank_mass(c)
    gas = fill(c.pick(V.GAS_SENTENCES), s=side_word(c, c.pick(SIDES)))
    return mass_only(mass.side, mass_sentence(c, mass.plain), gas)


@rule("artefact", "attrib.artefact")
def gas_alone(c: Chooser) -> Said:
    return nothing(fill(c.pick(V.GAS_SENTENCES), s=side_word(c, c.pick(SIDES))))


@rule("artefact", "attrib.artefact")
def clean_shadowing_with_twinkling(c: Chooser) -> Said:
    mass = flank_mass(c)
    phrase = f"{mass.plain} containing echogenic foci with {c.say(('clean posterior acoustic shadowing', 'posterior acoustic shadowing'))} and twinkling artefact"
    return positive(mass.side, mass_sentence(c, phrase))


# calcium on other structures -------------------------------------------------------------------


@rule("other_structure", "attrib.other-structure")
def mass_and_calcium_elsewhere(c: Chooser) -> Said:
    mass = flank_mass(c)
    calcium, _ = other_calcium(c)
    first, second = mass_sentence(c, mass.plain), calcium
    lines = (first, second) if c.say((True, False)) else (second, first)
    return mass_only(mass.side, *lines)


@rule("other_structure", "attrib.other-structure")
def calcium_joined_to_mass_sentence(c: Chooser) -> Said:
    mass = flank_mass(c)
    phrase, plural = c.pick(V.OTHER_CALCIUM_PHRASES)
    words = side_word(c, c.pick(SIDES))
    join = c.say(V.OTHER_CALCIUM_JOINS)
    sentence = fill(join, mass=article(mass.plain), other=phrase.format(s=words), be=be(plural))
    return mass_only(mass.side, *sentences(f"{sentence}."))


@rule("other_structure", "attrib.other-structure")
def mass_with_separate_calculus(c: Chooser) -> Said:
    mass = flank_mass(c)
    separate = c.pick(
        (
            "a separate 5 mm calculus in the lower pole",
            "a separate 1 cm cyst with rim calcification",
            "a separate calcified lymph node at the hilum",
            "a separate shadowing echogenic focus in the renal sinus, c/w a stone",
        )
    )
    return mass_only(mass.side, fill("{A_plain} with {separate}.", **mass.forms(), separate=separate))


@rule("other_structure", "attrib.other-structure")
def calcified_mass_and_calcium_elsewhere(c: Chooser) -> Said:
    mass = flank_mass(c)
    calcium, _ = other_calcium(c)
    return positive(mass.side, mass_sentence(c, mass.calcified), calcium)


@rule("other_structure", "attrib.other-structure")
def calcium_without_mass(c: Chooser) -> Said:
    first, first_mass = other_calcium(c)
    second, second_mass = other_calcium(c)
    masses = (first_mass, second_mass)
    return nothing(first, second, mass=None if None in masses else False)


@rule("other_structure", "attrib.other-structure")
def no_mass_but_calcium(c: Chooser) -> Said:
    calcium, is_mass = other_calcium(c)
    negated = fill(
        c.say(("No {s} renal mass.", "No focal mass in the {s} kidney.", "There is no {s} adrenal mass.")),
        s=side_word(c, c.pick(SIDES)),
    )
    return nothing(negated, calcium, mass=None if is_mass is None else False)


# assertion: negated, uncertain, change, hypothetical, historical, other subject ------------------


def negated_mass(c: Chooser) -> str:
    side = c.pick(SIDES)
    words = side_word(c, side)
    return fill(
        c.pick(V.NEGATED_MASS),
        s=words,
        S=cap(words),
        calc=c.say(("calcified ", "")),
        named=c.say(V.NAMED_TUMOURS["kidney"]),
    )


@rule("negated", "assert.negated")
def mass_negated(c: Chooser) -> Said:
    return nothing(*sentences(negated_mass(c)))


@rule("negated", "assert.negated")
def mass_negated_among_normals(c: Chooser) -> Said:
    return nothing(c.say(V.NORMAL_FINDINGS), *sentences(negated_mass(c)), c.say(V.UNRELATED_NEGATED))


@rule("uncertain", "assert.uncertain")
def hedged_calcified_mass(c: Chooser) -> Said:
    mass = flank_mass(c)
    return positive(mass.side, fill(c.pick(V.UNCERTAIN_FRAMES), **mass.forms()))


@rule("uncertain", "assert.uncertain")
def hedged_calcification(c: Chooser) -> Said:
    mass = flank_mass(c)
    return positive(mass.side, *sentences(fill(c.pick(V.UNCERTAIN_CALCIUM_FRAMES), **mass.forms())))


@rule("uncertain", "assert.uncertain")
def may_represent(c: Chooser) -> Said:
    side = c.pick(SIDES)
    site = c.say(
        ("the upper pole of the {s} kidney", "the {s} adrenal region", "the {s} kidney", "the {s} retroperitoneum")
    )
    frame = c.say(
        (
            "An ill-defined echogenic area in {site} may represent a calcified mass.",
            "The echogenic area in {site} could be a partially calcified mass.",
        )
    )
    return positive(side, fill(frame, site=site.format(s=side_word(c, side))))


@rule("change", "assert.change")
def negated_change(c: Chooser) -> Said:
    mass = flank_mass(c)
    return positive(mass.side, fill(c.pick(V.CHANGE_FRAMES), **mass.forms()))


@rule("hypothetical", "assert.hypothetical")
def query_or_condition(c: Chooser) -> Said:
    mass = flank_mass(c, sized=False)
    return nothing(fill(c.pick(V.HYPOTHETICAL_FRAMES), **mass.forms()))


@rule("hypothetical", "assert.hypothetical")
def query_after_normal_findings(c: Chooser) -> Said:
    mass = flank_mass(c, sized=False)
    return nothing(c.say(V.NORMAL_FINDINGS), fill(c.pick(V.HYPOTHETICAL_FRAMES), **mass.forms()))


@rule("historical", "assert.historical")
def removed_or_resolved(c: Chooser) -> Said:
    mass = flank_mass(c)
    words = side_word(c, mass.side or "left")
    return nothing(fill(c.pick(V.HISTORICAL_FRAMES), **mass.forms(), s=words))


@rule("historical", "assert.historical")
def removed_then_other_side_current(c: Chooser) -> Said:
    side = c.pick(SIDES)
    old = flank_mass(c, side=other(side), region="kidney")
    new = flank_mass(c, side=side)
    history = fill(c.say(V.HISTORICAL_FRAMES[:2]), **old.forms(), s=side_word(c, other(side)))
    return positive(side, history, mass_sentence(c, new.calcified))


@rule("historical", "assert.historical")
def known_and_still_there(c: Chooser) -> Said:
    mass = flank_mass(c)
    frame = c.say(
        ("Known {mass}, again seen.", "The known {mass} persists.", "The previously described {mass} is unchanged.")
    )
    return positive(mass.side, fill(frame, **mass.forms()))


@rule("other_subject", "assert.other-subject")
def family_or_fetus(c: Chooser) -> Said:
    mass = flank_mass(c, sized=False)
    return nothing(fill(c.pick(V.OTHER_SUBJECT_FRAMES), **mass.forms(), s=side_word(c, mass.side or "left")))


@rule("other_subject", "assert.other-subject")
def family_history_and_patient_mass(c: Chooser) -> Said:
    mass = flank_mass(c)
    family = fill(c.say(V.OTHER_SUBJECT_FRAMES[:5]), **flank_mass(c, sized=False).forms())
    return positive(mass.side, family, mass_sentence(c, mass.calcified))


# scope of a cue --------------------------------------------------------------------------------


@rule("scope", "assert.scope")
def negated_other_finding_then_mass(c: Chooser) -> Said:
    mass = flank_mass(c)
    frame = c.pick(V.SCOPE_POSITIVE)
    return positive(mass.side, fill(frame, **mass.forms(), other=c.say(V.OTHER_FINDING_NEGATED)))


@rule("scope", "assert.scope")
def without_other_with_calcium(c: Chooser) -> Said:
    mass = flank_mass(c)
    return positive(mass.side, fill(c.pick(V.SCOPE_WITH), **mass.forms(), other=c.say(V.OTHER_FINDING_NEGATED)))


@rule("scope", "assert.scope")
def negated_list(c: Chooser) -> Said:
    words = side_word(c, c.pick(SIDES))
    return nothing(fill(c.pick(V.SCOPE_LIST_NEGATED), other=c.say(V.OTHER_FINDING_NEGATED), s=words))


@rule("scope", "assert.scope")
def negated_other_finding_then_plain_mass(c: Chooser) -> Said:
    mass = flank_mass(c)
    frame = c.say(("No {other}, {sized_mass}.", "No {other}; {a_mass}.", "No {other} but there is {a_mass}."))
    return mass_only(mass.side, fill(frame, **mass.forms("plain"), other=c.say(V.OTHER_FINDING_NEGATED)))


# sections and documents --------------------------------------------------------------------------


def titled(c: Chooser, title: str, lines: Sequence[str]) -> tuple[str, ...]:
    style = c.say(("own line", "inline", "caps line"))
    if style == "inline":
        return (f"{title}: {lines[0]}", *lines[1:])
    if style == "caps line" and title.upper() == title:
        return (title, *lines)
    return (f"{title}:", *lines)


def positive_body(c: Chooser) -> tuple[Said, Rule]:
    made = c.pick(FAMILIES["attachment"])
    return made.build(c), made


@rule("sections", "section.titles", sentences=False)
def findings_title(c: Chooser) -> Said:
    body, _ = positive_body(c)
    return replace(body, lines=titled(c, c.say(V.FINDING_TITLES), body.lines))


@rule("sections", "section.default", sentences=False)
def unknown_title(c: Chooser) -> Said:
    body, _ = positive_body(c)
    return replace(body, lines=titled(c, c.say(V.UNKNOWN_TITLES), body.lines))


@rule("sections", "section.default", sentences=False)
def unknown_title_query(c: Chooser) -> Said:
    mass = flank_mass(c, sized=False)
    query = fill(c.say(V.HYPOTHETICAL_FRAMES), **mass.forms())
    return nothing(*titled(c, c.say(V.UNKNOWN_TITLES), (query,)))


@rule("sections", "section.titles", sentences=False)
def history_states_mass_findings_normal(c: Chooser) -> Said:
    mass = flank_mass(c)
    statement = c.pick(V.HISTORY_STATEMENTS[4:] + ("{A_mass}.",))
    history = titled(c, c.say(V.CLINICAL_TITLES + V.COMPARISON_TITLES), (fill(statement, **mass.forms()),))
    findings = titled(c, c.say(V.FINDING_TITLES), (c.say(V.NORMAL_FINDINGS),))
    return nothing(*history, *findings)


@rule("sections", "section.history-query", sentences=False)
def history_query_findings_positive(c: Chooser) -> Said:
    asked = flank_mass(c)
    words = side_word(c, c.pick(SIDES))
    query = fill(c.say(V.HISTORY_STATEMENTS), **asked.forms(), s=words, S=cap(words))
    body, _ = positive_body(c)
    history = titled(c, c.say(V.CLINICAL_TITLES), (query,))
    return replace(body, lines=(*history, *titled(c, c.say(V.FINDING_TITLES), body.lines)))


@rule("sections", "section.titles", sentences=False)
def full_report(c: Chooser) -> Said:
    mass = flank_mass(c)
    kind = c.pick(("calcified", "plain", "normal"))
    words = side_word(c, mass.side or "left")
    history = f"{c.say(('Clinical history', 'Hx', 'Indication'))}: {fill(c.say(V.HISTORY_STATEMENTS[:4]), s=words, S=cap(words))}"
    technique = f"Technique: {c.say(V.TECHNIQUE_LINES)}"
    if kind == "normal":
        findings, impression = c.say(V.NORMAL_FINDINGS), "Normal study."
    elif kind == "plain":
        findings = mass_sentence(c, mass.plain)
        impression = fill("{A_noncalcified}.", **mass.forms())
    else:
        findings = mass_sentence(c, mass.calcified)
        impression = fill("{Mass}.", **mass.forms())
    lines = (
        c.say(V.EXAM_HEADERS),
        history,
        technique,
        "FINDINGS:",
        findings,
        c.say(V.UNRELATED_NEGATED),
        f"IMPRESSION: {impression}",
    )
    return Said(lines, kind == "calcified", kind != "normal", None if kind == "normal" else mass.side)


@rule("sections", "doc.addendum", sentences=False)
def addendum(c: Chooser) -> Said:
    mass = flank_mass(c)
    words = side_word(c, mass.side or "left")
    if c.pick(("retracts", "adds")) == "retracts":
        correction = c.say(
            (
                "On review, the echogenic foci in the {s} renal mass are gas, not calcification.",
                "Correction: the {s} renal mass does not contain calcification; the shadowing focus is a separate calculus.",
            )
        )
        body = (
            "FINDINGS:",
            mass_sentence(c, f"{words} renal mass with {mass.calcium}"),
            "ADDENDUM:",
            correction.format(s=words),
        )
        return mass_only(mass.side, *body)
    addition = fill(
        "On review of the cine images, the {s} renal mass contains {calcium}.", s=words, calcium=mass.calcium
    )
    body = ("FINDINGS:", mass_sentence(c, f"{words} renal mass"), "ADDENDUM:", addition)
    return positive(mass.side, *body)


# templates ---------------------------------------------------------------------------------------


def kidney_block(c: Chooser, side: str, mass: bool, calcium: str) -> tuple[str, ...]:
    mass_value = (
        c.say(("Present, 4.2 cm, upper pole, solid", "Yes (4.2 x 3.8 cm, solid)"))
        if mass
        else c.say(("None", "Absent", "No"))
    )
    return (
        f"{cap(side)} kidney:",
        f"Length: {c.say(('10.9', '11.2', '11.8'))} cm",
        f"{c.say(('Mass', 'Focal lesion', 'Lesion'))}: {mass_value}",
        f"{c.say(('Calcification', 'Calcifications'))}: {calcium}",
    )


@rule("templates", "template.value", sentences=False)
def field_values(c: Chooser) -> Said:
    side = c.pick(SIDES)
    value = c.pick(("present", "absent", "uncertain"))
    table = {"present": V.TEMPLATE_PRESENT, "absent": V.TEMPLATE_ABSENT, "uncertain": V.TEMPLATE_UNCERTAIN}
    blocks = {
        side: kidney_block(c, side, True, c.say(table[value])),
        other(side): kidney_block(c, other(side), False, c.say(V.TEMPLATE_ABSENT)),
    }
    lines = (*blocks["right"], *blocks["left"])
    return Said(lines, value != "absent", True, side)


@rule("templates", "template.value", sentences=False)
def checkboxes(c: Chooser) -> Said:
    side = c.pick(SIDES)
    has_mass, calcified = c.pick(((True, True), (True, False), (False, True)))
    box = c.say(V.CHECKBOX_PRESENT if has_mass else V.CHECKBOX_ABSENT)
    calcium_box = c.say(V.CHECKBOX_PRESENT if calcified else V.CHECKBOX_ABSENT)
    size = "   Size: 4.2 cm" if has_mass else ""
    lines = (f"{cap(side)} kidney", f"Focal mass: {box}{size}", f"Calcification: {calcium_box}")
    return Said(lines, has_mass and calcified, has_mass, side if has_mass else None)


@rule("templates", "template.value", sentences=False)
def measurement_table(c: Chooser) -> Said:
    side = c.pick(SIDES)
    second = c.pick(("cyst", "solid"))
    first_calcified = c.pick((True, False))
    second_calcified = c.pick((True, False))
    yes, no = c.say((("Yes", "No"), ("Present", "Absent"), ("Y", "N")))
    second_kind = "Cyst (Bosniak II)" if second == "cyst" else "Solid"
    rows = (
        "Lesion | Site | Size | Composition | Calcification",
        f"1 | {cap(side)} kidney, upper pole | 4.2 cm | Solid | {yes if first_calcified else no}",
        f"2 | {cap(other(side))} kidney | 1.1 cm | {second_kind} | {yes if second_calcified else no}",
    )
    sides = [side] if first_calcified else []
    if second == "solid" and second_calcified:
        sides.append(other(side))
    if sides:
        return positive("bilateral" if len(sides) == 2 else sides[0], *rows)
    return mass_only("bilateral" if second == "solid" else side, *rows)


@rule("templates", "template.value", sentences=False)
def field_lines(c: Chooser) -> Said:
    mass = flank_mass(c, region="kidney")
    value = c.pick(("present", "absent"))
    calcium = c.say(V.TEMPLATE_PRESENT if value == "present" else V.TEMPLATE_ABSENT)
    lines = (f"Lesion: {mass.plain}", f"Calcification: {calcium}")
    return Said(lines, value == "present", True, mass.side)


@rule("templates", "template.value", sentences=False)
def calcium_without_mass_fields(c: Chooser) -> Said:
    side = c.pick(SIDES)
    lines = (
        f"{cap(side)} kidney:",
        f"Mass: {c.say(V.TEMPLATE_ABSENT)}",
        f"Calcification: {c.say(V.TEMPLATE_PRESENT)} (medullary nephrocalcinosis)",
    )
    return nothing(*lines)


# look-alikes: other organs, superficial lesions --------------------------------------------------


def look_alike(c: Chooser, frames: Sequence[str]) -> str:
    calcium, _ = c.say(V.CALCIUM)
    calc = f"{c.say(('4 cm', '2.5 cm', ''))} {c.say(V.CALCIFIED)}"
    return fill(
        c.pick(frames),
        A_calc=cap(article(tidy(calc))),
        a_calc=article(tidy(calc)),
        calcium=calcium,
        s=side_word(c, c.pick(SIDES)),
    )


@rule("other_organ", "positive")
def other_organ_mass(c: Chooser) -> Said:
    return nothing(look_alike(c, V.OTHER_ORGAN_MASSES))


@rule("other_organ", "attrib.other-structure")
def other_organ_calcium_beside_plain_mass(c: Chooser) -> Said:
    mass = flank_mass(c)
    lines = (mass_sentence(c, mass.plain), look_alike(c, V.OTHER_ORGAN_MASSES))
    return mass_only(mass.side, *(lines if c.say((True, False)) else lines[::-1]))


@rule("other_organ", "positive")
def other_organ_mass_beside_calcified_mass(c: Chooser) -> Said:
    mass = flank_mass(c)
    return positive(mass.side, look_alike(c, V.OTHER_ORGAN_MASSES), mass_sentence(c, mass.calcified))


@rule("depth", "depth.superficial")
def superficial_lesion(c: Chooser) -> Said:
    return nothing(look_alike(c, V.SUPERFICIAL_MASSES))


@rule("depth", "depth.superficial")
def deep_flank_mass(c: Chooser) -> Said:
    side = c.pick(SIDES)
    calcium, _ = c.say(V.CALCIUM)
    calc = c.say(V.CALCIFIED)
    frame = c.pick(V.DEEP_MASSES)
    return positive(side, fill(frame, s=side_word(c, side), calcium=calcium, A_calc=cap(article(f"5 cm {calc}"))))


@rule("depth", "depth.superficial")
def superficial_calcified_deep_plain(c: Chooser) -> Said:
    mass = flank_mass(c)
    return mass_only(mass.side, look_alike(c, V.SUPERFICIAL_MASSES), mass_sentence(c, mass.plain))


# laterality --------------------------------------------------------------------------------------


@rule("laterality", "side.report")
def calcified_one_side_plain_other(c: Chooser) -> Said:
    side = c.pick(SIDES)
    calcified = flank_mass(c, side=side)
    plain = flank_mass(c, side=other(side))
    lines = (mass_sentence(c, plain.plain), mass_sentence(c, calcified.calcified))
    return positive(side, *(lines if c.say((True, False)) else lines[::-1]))


@rule("laterality", "side.report", sentences=False)
def organ_headings(c: Chooser) -> Said:
    """The side is only in the organ heading the mass sits under."""
    side = c.pick(SIDES)
    calcium, _ = c.say(V.CALCIUM)
    body = fill(
        c.say(
            (
                "There is {a_size} solid mass in the upper pole with {calcium}.",
                "{A_size} {calcified} mass in the lower pole.",
                "{A_size} mass. It contains {calcium}.",
            )
        ),
        a_size=article(c.say(V.SIZES)),
        A_size=cap(article(c.say(V.SIZES))),
        calcium=calcium,
        calcified=c.say(V.CALCIFIED),
    )
    bodies = {
        side: sentences(body),
        other(side): (c.say(("Normal.", "Normal size and echotexture.", "A 1.2 cm simple cyst.")),),
    }
    style = c.say(("own line", "caps", "inline"))
    lines: list[str] = []
    for kidney in ("right", "left"):
        heading = f"{kidney.upper()} KIDNEY:" if style == "caps" else f"{cap(kidney)} kidney:"
        if style == "inline":
            lines.append(f"{heading} {' '.join(bodies[kidney])}")
        else:
            lines.extend((heading, *bodies[kidney]))
    return positive(side, *lines)


@rule("laterality", "side.report")
def bilateral(c: Chooser) -> Said:
    masses = bilateral_mass(c)
    frame = c.say(("{P}.", "There are {p}.", "{P} are {seen}."))
    return positive("bilateral", fill(frame, P=cap(masses), p=masses, seen=c.say(V.SEEN)))


@rule("laterality", "side.report")
def both_sides_calcified(c: Chooser) -> Said:
    left, right = flank_mass(c, side="left"), flank_mass(c, side="right")
    return positive("bilateral", mass_sentence(c, left.calcified), mass_sentence(c, right.calcified))


@rule("laterality", "side.report")
def calcified_mass_and_cyst_other_side(c: Chooser) -> Said:
    side = c.pick(SIDES)
    mass = flank_mass(c, side=side)
    cyst = cap(article(f"{c.say(('1.2 cm', '2 cm', '8 mm'))} simple cyst in the {side_word(c, other(side))} kidney."))
    return positive(side, mass_sentence(c, mass.calcified), cyst)


@rule("laterality", "side.report")
def calcium_only_other_side(c: Chooser) -> Said:
    side = c.pick(SIDES)
    mass = flank_mass(c, side=side)
    stone, _ = other_calcium(c, side=other(side))
    return mass_only(side, mass_sentence(c, mass.plain), stone)


@rule("laterality", "side.report")
def no_side_stated(c: Chooser) -> Said:
    calc = c.say(V.CALCIFIED)
    phrase = tidy(c.say(V.UNSIDED_SITES).format(adj=f"{c.say(V.SIZES)} {calc}", n=c.say(V.GENERIC_NOUNS)[0]))
    return positive(None, mass_sentence(c, phrase))


# the report correcting itself: withdrawn statements, contrasts, an addendum's last word, a lesion
# identified as normal anatomy (added from the second blind set's classes) -----------------------


@rule("revision", "doc.addendum")
def withdrawn_statement(c: Chooser) -> Said:
    mass = flank_mass(c)
    withdrawn = fill(c.pick(V.WITHDRAWN_FRAMES), calcium=mass.calcium, Calcium=cap(mass.calcium))
    return mass_only(mass.side, mass_sentence(c, mass.plain), withdrawn)


@rule("revision", "assert.negated")
def contrasted_away(c: Chooser) -> Said:
    mass = flank_mass(c)
    frame = c.say(
        (
            "The shadowing focus is {other} {contrast} {calcium} within the mass.",
            "On review the echogenic focus represents {other} {contrast} {calcium} of the mass.",
        )
    )
    said = fill(frame, other=c.pick(V.CONTRASTED), contrast=c.pick(V.CONTRAST_WORDS), calcium=mass.calcium)
    return mass_only(mass.side, mass_sentence(c, mass.plain), said)


@rule("revision", "attrib.same-phrase")
def contrast_keeps_what_precedes(c: Chooser) -> Said:
    mass = flank_mass(c)
    said = fill(
        "{The_mass} contains {calcium} {contrast} {other}.",
        **mass.forms("plain"),
        contrast=c.pick(V.CONTRAST_WORDS),
        other=c.pick(V.CONTRASTED[:2]),
    )
    return positive(mass.side, said)


@rule("revision", "doc.addendum", sentences=False)
def addendum_last_word(c: Chooser) -> Said:
    mass = flank_mass(c, region="kidney")
    words = side_word(c, mass.side or "left")
    earlier = c.say(
        (
            "On review of the initial images, {calcium} within the {s} renal mass was suspected.",
            "The initial images suggested {calcium} within the {s} renal mass.",
        )
    )
    denies = c.say(
        (
            "On the cine clips the {s} renal mass itself contains no calcification.",
            "The cine clips show no calcification within the {s} renal mass.",
        )
    )
    affirms = "On the cine clips, {calcium} is confirmed within the {s} renal mass."
    last = c.pick((denies, affirms))
    body = (
        "FINDINGS:",
        mass_sentence(c, f"{words} renal mass with {mass.calcium}"),
        "ADDENDUM:",
        fill(earlier, calcium=mass.calcium, s=words),
        fill(last, calcium=mass.calcium, s=words),
    )
    return (positive if last == affirms else mass_only)(mass.side, *body)


@rule("revision", "recency.no-mass-supersedes")
def identified_as_normal_anatomy(c: Chooser) -> Said:
    side = c.pick(SIDES)
    lesion = c.pick(V.QUESTIONED_LESIONS).format(s=side_word(c, side))
    said = f"{lesion} {c.pick(V.FIRM_IDENTITY)} {c.pick(V.VARIANTS)}."
    return nothing(c.say(V.NORMAL_FINDINGS), said)


@rule("revision", "assert.uncertain")
def identity_hedged(c: Chooser) -> Said:
    side = c.pick(SIDES)
    lesion = c.pick(V.QUESTIONED_LESIONS[:4]).format(s=side_word(c, side))
    said = f"{lesion} {c.pick(V.HEDGED_IDENTITY)} {c.pick(V.VARIANTS[:3])}."
    return mass_only(side, said)


# which structure a sentence is about: landmark verbs, relative clauses with a parenthetical, a
# clause that ends by naming its calcium, telegraphed places, dated addendum headers (added from the
# third blind set's classes) ---------------------------------------------------------------------


@rule("structure", "attrib.other-structure")
def neighbour_named_through_a_verb(c: Chooser) -> Said:
    side = c.pick(SIDES)
    mass, heading = c.pick(V.NEIGHBOUR_MASSES)
    said = fill(
        "{heading}: A {size} {mass} {verb} the {pole} of the {s} kidney and contains {calcium}{differential}.",
        heading=heading,
        size=c.say(V.SIZES),
        mass=mass,
        verb=c.pick(V.LANDMARK_VERBS),
        pole=c.pick(("upper pole", "lower pole", "anterior surface")),
        s=side_word(c, side),
        calcium=c.say(V.CALCIUM)[0],
        differential=c.pick(V.DIFFERENTIALS),
    )
    return nothing(said, f"{side_word(c, side).capitalize()} kidney: normal.")


@rule("structure", "attrib.same-phrase")
def renal_mass_reaching_a_neighbour(c: Chooser) -> Said:
    side = c.pick(SIDES)
    neighbour = "the inferior surface of the liver" if side == "right" else "the spleen"
    said = fill(
        "{S} kidney: A {size} {pole} renal mass with {calcium} {verb} {neighbour}.",
        S=side_word(c, side).capitalize(),
        size=c.say(V.SIZES),
        pole=c.pick(("upper pole", "lower pole")),
        calcium=c.say(V.CALCIUM)[0],
        verb=c.pick(V.LANDMARK_VERBS),
        neighbour=neighbour,
    )
    return positive(side, said)


@rule("structure", "attrib.other-structure")
def relative_clause_describes_its_noun(c: Chooser) -> Said:
    side = c.pick(SIDES)
    where, neighbour = c.pick(V.NEIGHBOURS_WITH_CALCIUM)
    said = fill(
        "A {size} {s} adrenal mass lies {where} {neighbour}{relative} {calcium}.",
        size=c.say(V.SIZES),
        s=side_word(c, side),
        where=where,
        neighbour=neighbour,
        relative=c.pick(V.RELATIVE_PARENTHETICALS),
        calcium=c.say(V.CALCIUM)[0],
    )
    return mass_only(side, said)


@rule("structure", "attrib.other-structure")
def clause_ends_by_naming_its_calcium(c: Chooser) -> Said:
    mass = flank_mass(c, region="kidney")
    place = c.pick(V.FAR_PLACES)
    where = "kidney" if "kidney" in place else "pelvis"
    foci = fill(
        "{foci} {place}, {identity}.",
        foci=c.pick(V.FOCI),
        place=place.format(s=side_word(c, mass.side or "left")),
        identity=c.say(V.FAR_IDENTITIES[where]),
    )
    return mass_only(mass.side, mass_sentence(c, mass.plain), foci)


@rule("structure", "attrib.same-phrase")
def place_telegraphed_after_the_mass(c: Chooser) -> Said:
    side = c.pick(SIDES)
    said = fill(
        "{S} kidney: {size} {composition} {noun} {pole} w/ {calcium}.",
        S=side_word(c, side).capitalize(),
        size=c.say(V.SIZES),
        composition=c.say(("solid", "exophytic solid", "hyperechoic", "heterogeneous")),
        noun=c.pick(("mass", "lesion", "SOL")),
        pole=c.pick(V.POLES),
        calcium=c.say(("coarse calcs", "calcs + PAS", "calcific foci", "internal calcification")),
    )
    return positive(side, said)


@rule("structure", "doc.addendum", sentences=False)
def dated_addendum_header(c: Chooser) -> Said:
    mass = flank_mass(c, region="kidney")
    words = side_word(c, mass.side or "left")
    header = c.pick(V.ADDENDUM_HEADERS)
    retraction = fill(
        "On review with colour Doppler, the shadowing focus is the calcified wall of a segmental renal artery. "
        "The {s} renal mass itself is not calcified.",
        s=words,
    )
    lines = ("FINDINGS:", mass_sentence(c, f"{words} renal mass with {mass.calcium}"))
    if header.endswith(":"):
        return mass_only(mass.side, *lines, f"{header} {retraction}")
    return mass_only(mass.side, *lines, header, retraction)


# the sweep and the strategies --------------------------------------------------------------------

# how many items each family contributes to the sweep
SWEEP_SIZES = {
    "attachment": 560,
    "calcium_absent": 300,
    "artefact": 300,
    "other_structure": 420,
    "negated": 300,
    "uncertain": 360,
    "change": 300,
    "hypothetical": 300,
    "historical": 300,
    "other_subject": 240,
    "scope": 420,
    "sections": 480,
    "templates": 300,
    "other_organ": 300,
    "depth": 300,
    "laterality": 420,
    "revision": 360,
    "structure": 360,
}


def family_items(family: str, count: int, seed: str = "issue-19") -> Iterator[Item]:
    """`count` distinct items of `family` (by text), its rules in turn, each from its own seed."""
    rules = FAMILIES[family]
    seen: set[str] = set()
    attempt = 0
    while len(seen) < count and attempt < count * 20:
        made = rules[attempt % len(rules)]
        item = made.item(Chooser.seeded(f"{seed}/{family}/{made.name}/{attempt}"))
        attempt += 1
        if item.text not in seen:
            seen.add(item.text)
            yield item


@st.composite
def items(draw: Callable[[Any], Any], families: Sequence[str] = tuple(FAMILIES)) -> Item:
    family = draw(st.sampled_from(tuple(families)))
    made = draw(st.sampled_from(FAMILIES[family]))
    return made.item(Chooser.drawing(draw))


@st.composite
def rewordings(draw: Callable[[Any], Any]) -> tuple[Item, Item]:
    """The same report said twice: one structure seed, two wording seeds."""
    family = draw(st.sampled_from(tuple(FAMILIES)))
    made = draw(st.sampled_from(FAMILIES[family]))
    structure, first, second = (str(draw(st.integers(0, 10**9))) for _ in range(3))
    return made.item(Chooser.seeded(structure, first)), made.item(Chooser.seeded(structure, second))


@st.composite
def flank_masses(draw: Callable[[Any], Any]) -> Mass:
    return flank_mass(Chooser.drawing(draw))
