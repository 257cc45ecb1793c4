"""Words of the generated report corpus (issue 19), as tables a reader can check against the decisions.

Written blind: from issue 19 and /work/team/reading-decisions.md only, not from the reader's lexicon.
A tuple is a set of interchangeable wordings (a repeated entry is drawn more often); `{s}` is a side
word, `{n}` / `{ns}` a noun (singular / plural), `{adj}` the adjectives that precede it.
"""

from __future__ import annotations

# -- sides (vocab.shorthand: L / R / lt / rt / bilat) --------------------------------------------
SIDE_WORDS = {
    "left": ("left", "left", "left", "L", "lt"),
    "right": ("right", "right", "right", "R", "rt"),
}

# -- the flank mass ------------------------------------------------------------------------------
GENERIC_NOUNS = (
    ("mass", "masses"),
    ("mass", "masses"),
    ("lesion", "lesions"),
    ("tumour", "tumours"),
    ("tumor", "tumors"),
    ("neoplasm", "neoplasms"),
)
# named tumours, by the region they arise in
NAMED_TUMOURS = {
    "kidney": ("Wilms tumour", "Wilms tumor", "nephroblastoma", "renal cell carcinoma", "RCC", "angiomyolipoma"),
    "adrenal": ("neuroblastoma", "pheochromocytoma", "adrenocortical carcinoma"),
    "retroperitoneum": ("neuroblastoma", "teratoma", "liposarcoma"),
    "flank": ("neuroblastoma", "sarcoma"),
}
# where a single mass sits (flank region: kidney, adrenal, retroperitoneum, flank, loin, paraspinal, perirenal)
SITES = {
    "kidney": (
        "{adj} {s} renal {n}",
        "{adj} {n} in the {s} kidney",
        "{adj} {n} arising from the {s} kidney",
        "{adj} {n} in the upper pole of the {s} kidney",
        "{adj} {n} in the lower pole of the {s} kidney",
        "{adj} {n} in the interpolar region of the {s} kidney",
        "{adj} {s} upper pole renal {n}",
        "{adj} {s} lower pole renal {n}",
        "{adj} {n} of the {s} kidney",
    ),
    "adrenal": (
        "{adj} {s} adrenal {n}",
        "{adj} {n} in the {s} adrenal gland",
        "{adj} {n} in the {s} suprarenal region",
        "{adj} {s} suprarenal {n}",
    ),
    "retroperitoneum": (
        "{adj} {s} retroperitoneal {n}",
        "{adj} {n} in the {s} retroperitoneum",
        "{adj} {s} perirenal {n}",
        "{adj} {s} paraspinal {n}",
    ),
    "flank": (
        "{adj} {n} in the {s} flank",
        "{adj} {s} flank {n}",
        "{adj} {n} deep in the {s} flank",
        "{adj} {n} in the {s} loin",
    ),
}
BILATERAL_SITES = (
    "bilateral {adj} renal {ns}",
    "{adj} {ns} in both kidneys",
    "bilateral {adj} adrenal {ns}",
    "bilat {adj} renal {ns}",
    "{adj} {ns} in both adrenal glands",
)
# a mass with no side: the card can name none
UNSIDED_SITES = (
    "{adj} retroperitoneal {n} anterior to the spine",
    "{adj} midline retroperitoneal {n}",
    "{adj} {n} in the retroperitoneum between the aorta and IVC",
)
SIZES = ("4.5 cm", "3.2 x 2.9 cm", "45 mm", "6 cm", "5.1 x 4.7 x 4.9 cm", "2.6 cm", "7 cm", "3 cm")
COMPOSITIONS = (
    "",
    "",
    "solid",
    "heterogeneous",
    "hypoechoic",
    "hyperechoic",
    "complex cystic",
    "lobulated",
    "isoechoic",
)
# what the mass is called after it has been named once
BACK_REFERENCES = ("lesion", "mass", "mass", "tumour")
DIAGNOSIS_TAILS = (
    "",
    "",
    "",
    ", consistent with {named}",
    ", suspicious for {named}",
    ", likely {named}",
    ", c/w {named}",
    ", concerning for malignancy",
)

# -- calcification of the mass (attrib.same-phrase, attrib.artefact: clean shadowing is calcium) --
CALCIFIED = (
    "calcified",
    "calcified",
    "partially calcified",
    "densely calcified",
    "coarsely calcified",
    "peripherally calcified",
)
# (wording, plural?) as the object of "with", "containing", "It contains ..."
CALCIUM = (
    ("calcification", False),
    ("calcifications", True),
    ("internal calcification", False),
    ("internal calcifications", True),
    ("calcs", True),
    ("internal calcs", True),
    ("calcific foci", True),
    ("foci of calcification", True),
    ("coarse calcification", False),
    ("coarse calcifications", True),
    ("punctate calcifications", True),
    ("peripheral calcification", False),
    ("speckled calcification", False),
    ("areas of calcification", True),
    ("microcalcifications", True),
    ("calcium deposits", True),
    ("echogenic foci with posterior acoustic shadowing", True),
    ("echogenic foci with posterior shadowing", True),
    ("shadowing echogenic foci", True),
    ("a shadowing echogenic focus", False),
    ("a bright echogenic focus with clean posterior acoustic shadowing", False),
    ("hyperechoic foci w/ post shadowing", True),
    ("echogenic foci with PAS", True),
)
# the same, as a negated object ("without ...", "no ...")
CALCIUM_NEGATED = (
    ("calcification", False),
    ("calcification", False),
    ("internal calcification", False),
    ("calcifications", True),
    ("calcs", True),
    ("calcific foci", True),
    ("shadowing echogenic foci", True),
    ("internal calcifications", True),
)
ATTACH_VERBS = ("with", "with", "containing", "showing", "demonstrating", "w/", "which contains", "that contains")
SEEN = ("seen", "noted", "identified", "demonstrated", "present")

# -- things that are not calcium (attrib.artefact) -----------------------------------------------
NOT_CALCIUM = (
    "echogenic foci without posterior acoustic shadowing",
    "non-shadowing echogenic foci",
    "echogenic foci that do not shadow",
    "echogenic foci with twinkling artefact on colour Doppler",
    "twinkling artefact on colour Doppler",
    "echogenic foci with dirty shadowing, in keeping with gas",
    "echogenic foci with ring-down artefact (gas)",
    "echogenic foci with comet-tail artefact",
    "reverberation artefact from gas",
)
GAS_SENTENCES = (
    "Overlying bowel gas with dirty shadowing limits the view of the {s} kidney.",
    "Echogenic foci with ring-down artefact in the {s} flank represent bowel gas.",
    "Comet-tail artefact from adjacent bowel loops.",
    "Dirty shadowing from colonic gas in the {s} upper quadrant.",
)

# -- calcium that belongs to another structure (attrib.other-structure) --------------------------
# (sentence, is it a mass?) -- None: a radiologist may or may not call it one; the label leaves it open
OTHER_CALCIUM_SENTENCES = (
    ("Calcified atherosclerotic plaque in the abdominal aorta.", False),
    ("The abdominal aorta shows mural calcification.", False),
    ("Abdominal aortic aneurysm with mural calcification, 3.4 cm.", None),
    ("A 1.4 cm {s} renal artery aneurysm with a calcified wall.", None),
    ("Calcification in the wall of the {s} renal artery.", False),
    ("Splenic artery calcification.", False),
    ("Several calcified para-aortic lymph nodes.", False),
    ("Calcified lymph nodes at the {s} renal hilum.", False),
    ("A 6 mm non-obstructing calculus in the lower pole of the {s} kidney.", False),
    ("A staghorn calculus fills the {s} renal pelvis.", False),
    ("{S} nephrolithiasis with posterior acoustic shadowing.", False),
    ("Medullary nephrocalcinosis in both kidneys.", False),
    ("Medullary calcification in the {s} kidney.", False),
    ("A 5 mm echogenic focus with posterior acoustic shadowing in the {s} lower pole, consistent with a stone.", False),
    ("A shadowing echogenic focus in the {s} kidney, c/w a calculus.", False),
    ("A separate 1.5 cm cyst in the {s} kidney with a thin calcified rim (Bosniak II).", None),
    ("A {s} renal cyst containing milk of calcium.", None),
    ("Shadowing from the {s} 12th rib obscures part of the upper pole.", False),
    ("Calcified costal cartilage casts an acoustic shadow over the {s} upper quadrant.", False),
    ("Surgical clips in the gallbladder fossa.", False),
    ("Surgical clips in the {s} flank from a previous hernia repair.", False),
    ("Pelvic phleboliths.", False),
    ("Calcified granulomas in the spleen.", False),
    ("A punctate calcified granuloma in the liver.", False),
    ("Coarse calcifications in the pancreas, in keeping with chronic pancreatitis.", False),
    ("Gallstones with posterior acoustic shadowing.", False),
    ("Echogenic foci with posterior acoustic shadowing in the gallbladder, consistent with gallstones.", False),
    ("A small calcification in the {s} adrenal gland without an adrenal mass.", False),
)
# the same, as a noun phrase joined to the mass's sentence
OTHER_CALCIUM_PHRASES = (
    ("calcified plaque in the adjacent aorta", False),
    ("a calcified {s} renal artery aneurysm", False),
    ("calcified para-aortic lymph nodes", True),
    ("a separate 5 mm calculus in the lower pole", False),
    ("a non-obstructing {s} renal calculus", False),
    ("a separate cyst with rim calcification", False),
    ("milk of calcium in a separate cyst", False),
    ("calcified splenic granulomas", True),
    ("a staghorn calculus in the {s} renal pelvis", False),
)
OTHER_CALCIUM_JOINS = (
    "{mass} and {other}",
    "{mass}; {other} {be} also noted",
    "{mass}. Incidental note is made of {other}",
    "{mass}, separate from {other}",
    "{mass} adjacent to {other}",
    "{mass}, with {other} noted separately",
    "{mass}. Separately, there {be} {other}",
)

# -- assertion cues ------------------------------------------------------------------------------
NEGATED_MASS = (
    "No {calc}{s} renal mass.",
    "No {s} renal mass or calcification.",
    "No {s} renal mass or calcification is seen.",
    "No solid or calcified mass in the {s} kidney.",
    "No evidence of a {calc}mass in the {s} kidney.",
    "Neither a mass nor calcification is seen in the {s} kidney.",
    "The {s} kidney is free of masses and calcifications.",
    "The {s} adrenal region is devoid of any mass or calcification.",
    "A {calc}{s} renal mass is not seen.",
    "A {calc}{s} renal mass is not identified.",
    "A {calc}mass in the {s} flank is not visualised.",
    "A {calc}{s} adrenal mass is ruled out.",
    "Negative for {s} renal mass.",
    "There is no {calc}{s} adrenal mass.",
    "No mass is identified in the {s} retroperitoneum.",
    "Without evidence of a {s} renal mass or calcification.",
    "No sonographic evidence of {named} in the {s} kidney.",
    "{S} kidney: no mass, no calcification.",
    "No focal {s} renal lesion. No calcification.",
)
UNCERTAIN_FRAMES = (
    "Possible {mass}.",
    "Probable {mass}.",
    "Likely {a_mass}.",
    "Findings are suspicious for {a_mass}.",
    "Suspicious for {a_mass}.",
    "Findings concerning for {a_mass}.",
    "Questionable {mass}.",
    "{A_mass} cannot be excluded.",
    "{A_mass} is not excluded.",
    "{A_mass} cannot be ruled out.",
    "{A_mass} is not ruled out.",
    "Cannot exclude {a_mass}.",
    "Cannot rule out {a_mass}.",
    "{A_mass} is suspected.",
)
# uncertain calcification of a definite mass: still counts
UNCERTAIN_CALCIUM_FRAMES = (
    "{A_plain} with possible {calcium_bare}.",
    "{A_plain} with questionable {calcium_bare}.",
    "{A_plain} with suspected {calcium_bare}.",
    "{A_plain} with probable {calcium_bare}.",
    "{A_plain}. Calcification within it cannot be excluded.",
    "{A_plain}. {Calcium} within the {ref} {be} not excluded.",
)
CHANGE_FRAMES = (
    "No interval growth of {the_mass}.",
    "No interval change in {the_mass}.",
    "No significant change in the size of {the_mass}.",
    "No change in {the_mass} since the prior study.",
    "Unchanged {mass}.",
    "Stable {mass}.",
    "{The_mass} is unchanged.",
    "{The_mass} is stable in size.",
    "{The_mass} has not increased in size.",
    "There has been no interval enlargement of {the_mass}.",
    "Again seen is {the_mass}.",
    "The known {mass} is again seen.",
    "Known {mass}, again seen.",
    "The known {mass} persists.",
    "The previously described {mass} is unchanged.",
    "Persistent {mass}.",
)
HYPOTHETICAL_FRAMES = (
    "Evaluate for {mass}.",
    "Assess for {a_mass}.",
    "Rule out {mass}.",
    "R/O {mass}.",
    "r/o {mass}.",
    "To exclude {a_mass}.",
    "{Mass}?",
    "? {mass}.",
    "If {a_mass} develops, CT is recommended.",
    "Should {a_mass} be seen on follow-up, CT is advised.",
    "Recommend follow-up ultrasound if {a_mass} is suspected clinically.",
    "Query {mass}.",
)
HISTORICAL_FRAMES = (
    "Status post {s} nephrectomy for {a_mass}.",
    "S/p resection of {a_mass}.",
    "s/p excision of {a_mass}.",
    "The previously described {mass} has been resected.",
    "The previously described {mass} has been removed.",
    "The previously described {mass} is no longer seen.",
    "The previously seen {mass} is no longer visualised.",
    "Interval resolution of {the_mass}.",
    "{The_mass} has resolved.",
    "History of {a_mass}, resected in 2019.",
    "Post-operative changes after resection of {a_mass}; no residual mass.",
    "The {s} renal fossa is empty following nephrectomy for {named}.",
)
OTHER_SUBJECT_FRAMES = (
    "Family history of {named}.",
    "Family history of {a_mass}.",
    "Mother had {a_mass}.",
    "Her brother was treated for {named} as a child.",
    "FHx: {named} (father).",
    "Fetal anatomy: a calcified mass in the fetal {s} flank.",
    "Fetal {s} flank mass with calcification.",
    "Meconium calcification in the fetal abdomen.",
    "A calcified mass in the fetal abdomen, likely meconium peritonitis.",
)
# negated findings that say nothing of the mass or its calcium
UNRELATED_NEGATED = (
    "No hydronephrosis.",
    "No free fluid.",
    "There is no ascites.",
    "No splenomegaly.",
    "No biliary dilatation.",
    "No pleural effusion.",
    "No gallstones.",
    "No renal calculi.",
    "No hydroureter is seen.",
    "The bladder is not distended.",
    "No perinephric collection.",
    "Neither hydronephrosis nor ascites.",
)
# the same findings as a clause heading or trailing the mass's sentence (assert.scope)
OTHER_FINDING_NEGATED = ("hydronephrosis", "free fluid", "ascites", "perinephric fluid", "hydroureter")
SCOPE_POSITIVE = (
    "No {other}, {sized_mass}.",
    "No {other}, there is {a_mass}.",
    "No {other}; {a_mass}.",
    "No {other} but there is {a_mass}.",
    "No {other}, however there is {a_mass}.",
    "No {other}, although there is {a_mass}.",
    "No {other}, whereas there is {a_mass}.",
    "No {other}, and there is {a_mass}.",
    "No {other}, {a_mass}.",
    "{A_mass}, without {other}.",
    "{A_mass} without {other}.",
    "{A_mass}; no {other}.",
)
# "without X, with calcifications" / "no X, with ...": the second attribute is asserted
SCOPE_WITH = (
    "{A_plain} without {other}, with {calcium}.",
    "{A_plain}, no {other}, with {calcium}.",
    "{A_plain} with no {other}, but with {calcium}.",
)
# a negation heading a coordinated list negates every item of it
SCOPE_LIST_NEGATED = (
    "No {other}, stones or masses.",
    "No {other}, calculi or calcified masses.",
    "No {other}, renal mass or calcification.",
    "No evidence of {other}, solid mass or calcification in either kidney.",
    "Neither {other} nor a calcified mass is seen.",
    "Without {other} or calcified mass.",
    "No {other}, mass, or calcification in the {s} kidney.",
)
# a mass whose calcification alone is negated
CALCIUM_ABSENT = (
    "{A_plain} without {calcium}.",
    "{A_plain} with no {calcium}.",
    "{A_plain}, no {calcium}.",
    "{A_plain}; no {calcium}.",
    "{A_plain} with internal vascularity but no {calcium}.",
    "{A_plain} with neither cystic change nor calcification.",
    "{A_noncalcified}.",
    "{A_plain}. No {calcium} {be} seen within it.",
    "{A_plain}. There is no calcification within the {ref}.",
    "{A_plain}. It contains no calcification.",
    "{A_plain}. The {ref} is not calcified.",
    "{A_plain}. The {ref} is free of calcification.",
    "{A_plain}. The {ref} is devoid of calcification.",
    "{A_plain}. Calcification is not seen.",
    "{A_plain}. Calcification is absent.",
    "{A_plain}. No evidence of calcification within the {ref}.",
)

# -- sections (section.titles, section.default, section.history-query) --------------------------
FINDING_TITLES = (
    "Findings",
    "FINDINGS",
    "Impression",
    "IMPRESSION",
    "IMP",
    "Result",
    "Results",
    "Report",
    "Opinion",
    "Conclusion",
    "Summary",
    "Diagnosis",
    "FINDINGS/IMPRESSION",
    "Findings and impression",
)
UNKNOWN_TITLES = ("Sonographic observations", "Assessment", "Comment", "Notes", "Ultrasound appearances", "Description")
CLINICAL_TITLES = (
    "History",
    "HISTORY",
    "Hx",
    "Clinical history",
    "Clinical details",
    "Clinical information",
    "Indication",
    "INDICATION",
    "Reason for exam",
    "Question",
    "Provisional diagnosis",
)
COMPARISON_TITLES = ("Comparison", "COMPARISON")
# what a history line says without asserting a finding of this study
HISTORY_STATEMENTS = (
    "{s} flank pain.",
    "{S} flank mass.",
    "Palpable {s} flank mass, ? cause.",
    "Haematuria.",
    "{A_mass} on outside US?",
    "Outside CT showed {a_mass}.",
    "Prior US 2021 showed {a_mass}.",
    "r/o {named}.",
    "? {mass}.",
)
NORMAL_FINDINGS = (
    "Both kidneys are normal in size and echotexture.",
    "The right kidney measures 10.8 cm and the left kidney 11.2 cm, both normal in appearance.",
    "Normal renal and adrenal regions bilaterally.",
    "Kidneys unremarkable.",
)
TECHNIQUE_LINES = (
    "Grayscale and colour Doppler images of both kidneys.",
    "Real-time ultrasound of the abdomen and retroperitoneum.",
)
EXAM_HEADERS = ("US RENAL", "ULTRASOUND ABDOMEN COMPLETE", "US RETROPERITONEAL COMPLETE", "SONO KIDNEYS")

# -- templates (template.value) ------------------------------------------------------------------
TEMPLATE_PRESENT = ("Present", "Yes", "Seen", "Coarse", "Punctate", "Multiple", "Present (coarse)")
TEMPLATE_ABSENT = ("None", "Absent", "No", "Not seen", "Negative", "None seen")
TEMPLATE_UNCERTAIN = ("Indeterminate", "Possible", "?")
CHECKBOX_PRESENT = ("[X] Yes [ ] No", "[x] Yes [ ] No", "[X] Present [ ] Absent")
CHECKBOX_ABSENT = ("[ ] Yes [X] No", "[ ] Yes [x] No", "[ ] Present [X] Absent")

# -- look-alikes: other organs' masses, superficial lesions (depth.superficial) ------------------
OTHER_ORGAN_MASSES = (
    "{A_calc} mass in the right lobe of the liver, abutting the right kidney.",
    "{A_calc} hepatic lesion in segment 6.",
    "{A_calc} splenic lesion at the lower pole of the spleen, near the left kidney.",
    "A pancreatic head mass with {calcium}.",
    "A pancreatic tail mass with {calcium}, close to the left adrenal.",
    "{A_calc} right ovarian mass, likely a dermoid.",
    "{A_calc} left adnexal mass.",
    "{A_calc} uterine fibroid.",
    "A mesenteric mass with {calcium}.",
    "A bladder wall mass with {calcium}.",
    "A gallbladder mass with {calcium}.",
    "Porcelain gallbladder with a calcified wall.",
)
SUPERFICIAL_MASSES = (
    "{A_calc} subcutaneous lesion in the {s} flank.",
    "{A_calc} sebaceous cyst in the skin of the {s} flank.",
    "Superficial to the fascia in the {s} flank, {a_calc} nodule.",
    "A subcutaneous lipoma in the {s} flank with {calcium}.",
    "A dermal lesion with {calcium} in the {s} loin.",
    "{A_calc} epidermoid cyst in the subcutaneous tissue of the {s} flank.",
    "A 1.5 cm superficial {s} flank lesion with {calcium}, within the subcutaneous fat.",
)
DEEP_MASSES = (
    "A 4 cm intramuscular mass deep to the fascia in the {s} flank with {calcium}.",
    "{A_calc} mass in the {s} paraspinal muscles, deep to the fascia.",
    "A deep {s} flank mass beneath the abdominal wall musculature, containing {calcium}.",
)
# other-organ sentences that never change what is said of the flank mass
OTHER_ORGAN_SENTENCES = (
    "The liver is normal in size and echotexture.",
    "A 2 cm hepatic haemangioma.",
    "A 3 cm calcified splenic mass.",
    "The spleen contains a calcified granuloma.",
    "A 2.5 cm pancreatic tail mass.",
    "A 3 cm right ovarian cyst.",
    "Gallbladder polyp, 6 mm.",
    "A calcified uterine fibroid.",
)

# -- the report correcting itself (the second blind set's classes) ----------------------------------
# wording that takes a statement of calcification back: {calcium} is the calcium as the body said it
WITHDRAWN_FRAMES = (
    "The reference to {calcium} in the original report is withdrawn.",
    "The sentence describing {calcium} was a template carry-over and is retracted.",
    "The prior dictation erroneously described {calcium} within the mass.",
    "Please disregard the mention of {calcium} in the preliminary report.",
    "The description of {calcium} within the mass was dictated in error.",
    "{Calcium} within the mass, as stated in the initial report, is erroneous.",
    "The statement regarding {calcium} has been withdrawn.",
)
# what a shadowing focus turns out to be, contrasted with calcification of the mass
CONTRASTED = (
    "a calyceal calculus",
    "a non-obstructing stone in the adjacent calyx",
    "renal sinus fat",
    "a calcified renal artery branch",
    "bowel gas",
)
CONTRAST_WORDS = ("rather than", "instead of", "as opposed to")
# normal anatomy that mimics a renal or left upper quadrant mass
VARIANTS = (
    "a prominent column of Bertin",
    "a hypertrophied column of Bertin",
    "a dromedary hump",
    "persistent fetal lobulation",
    "a junctional parenchymal defect",
    "renal sinus lipomatosis",
    "a pseudotumour",
    "a normal variant",
)
FIRM_IDENTITY = ("represents", "corresponds to", "is in keeping with", "is consistent with", "is", "proved to be")
HEDGED_IDENTITY = ("may represent", "likely represents", "could represent", "possibly represents", "may be")
QUESTIONED_LESIONS = (
    "The previously questioned {s} renal lesion",
    "The {s} renal lesion questioned on the prior study",
    "The echogenic {s} renal lesion seen at the outside ultrasound",
    "The questioned {s} upper pole lesion",
    "The {s} renal pseudolesion",
)

# -- which structure a sentence is about (the third blind set's classes) ----------------------------
LANDMARK_VERBS = ("indents", "abuts", "displaces", "compresses", "contacts", "deforms", "borders", "effaces")
NEIGHBOUR_MASSES = (  # a calcified mass of another organ and where it sits
    ("mass in segment 6 of the liver", "Liver"),
    ("hepatic mass in the right lobe", "Liver"),
    ("mass in the inferior right hepatic lobe", "Liver"),
    ("splenic mass", "Spleen"),
    ("mass in the lower pole of the spleen", "Spleen"),
)
DIFFERENTIALS = ("", " (HCC vs calcified metastasis)", " (calcified metastasis vs haemangioma)", " (? old haematoma)")
RELATIVE_PARENTHETICALS = (
    ", which contains",
    ", which, like the head and body, contains",
    ", which also contains",
    ", which, as before, contains",
    " that contains",
    ", which demonstrates",
)
NEIGHBOURS_WITH_CALCIUM = (  # (landmark word, the structure whose calcium it is)
    ("just posterior to", "the pancreatic tail"),
    ("anterior to", "the left psoas"),
    ("medial to", "the splenic hilum vessels"),
    ("abutting", "the aorta"),
)
FOCI = (
    "Several small shadowing echogenic foci",
    "Two shadowing echogenic foci",
    "Multiple tiny echogenic foci with clean posterior shadowing",
    "A few punctate calcifications",
)
FAR_PLACES = (
    "lie deep in the {s} hemipelvis along the course of the pelvic veins",
    "are seen in the lower pole collecting system of the {s} kidney, well away from the mass",
    "lie in the {s} hemipelvis near the bladder",
)
FAR_IDENTITIES = {
    "pelvis": ("in keeping with phleboliths", "consistent with phleboliths", "compatible with pelvic phleboliths"),
    "kidney": ("consistent with non-obstructing calculi", "in keeping with small calculi", "compatible with stones"),
}
POLES = ("lower pole", "upper pole", "interpolar region", "mid pole")
ADDENDUM_HEADERS = (
    "ADDENDUM 11/21/2026:",
    "Addendum by Dr Lee, 21 Nov 2026 10:15:",
    "ADDENDUM 2 11/21/2026",
    "*** ADDENDUM ***",
    "ADDENDUM (21/11/2026 09:40):",
    "Addendum - 2026-11-21:",
)
