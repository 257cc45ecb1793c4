"""Cold-call bodies: a new patient and new resource ids on every call, so nothing the service
remembers per resource or per narrative can help. Two shapes of the same chart:

- coded: the mass Condition and five abdominal ultrasound reports whose calcification is coded
  (conclusionCode), no narrative;
- narratives: no Condition and no codes: the mass and its calcification are only in five
  ultrasound reports of about 400 words each (presentedForm text/plain), worded differently on
  every call (measurements and dates vary), so the per-digest cache never hits.

Issue 9's budget: narratives adds at most 25 ms p50 over coded.
"""

from __future__ import annotations

import base64
import random

from . import data

SCT, LOINC, DCM = "http://snomed.info/sct", "http://loinc.org", "http://dicom.nema.org/resources/ontology/DCM"
US = {"coding": [{"system": LOINC, "code": "24558-9", "display": "US Abdomen"}]}

ORGANS = (
    "Liver: Normal in size, measuring {a} cm in craniocaudal length. Homogeneous echotexture without focal lesion. "
    "Hepatic veins and portal vein are patent with normal directional flow.\n"
    "Gallbladder: Normally distended. No wall thickening or pericholecystic fluid. Negative sonographic Murphy sign.\n"
    "Bile ducts: The common bile duct measures {b} mm. No intrahepatic biliary dilatation.\n"
    "Pancreas: The head and body are unremarkable. The tail is obscured by overlying bowel gas.\n"
    "Spleen: Normal in size at {c} cm with homogeneous echotexture. No splenic hilar varices are seen and the "
    "left hemidiaphragm moves normally with respiration.\n"
    "Right kidney: {d} cm in length. Normal cortical thickness and echogenicity. No hydronephrosis. The "
    "corticomedullary differentiation is preserved and the renal sinus fat is normal. Color Doppler shows normal "
    "perfusion to the cortical margins with resistive indices within normal limits at the upper, interpolar and "
    "lower pole arcuate arteries.\n"
)
FINDING = (
    "Left kidney: {e} cm in length. Arising from the upper pole there is a heterogeneous solid mass measuring "
    "{f} x {g} x {h} cm with internal echogenic foci demonstrating posterior acoustic shadowing, consistent with "
    "calcification. Internal vascularity is present on color Doppler. The mass displaces the collecting system "
    "without hydronephrosis.\n"
)
TAIL = (
    "Aorta: Normal caliber, measuring {i} cm at its maximal diameter. IVC: Patent.\n"
    "Urinary bladder: Adequately distended without wall thickening. Bilateral ureteral jets are seen.\n"
    "Other: No free fluid. No abdominal wall hernia. Bowel loops are of normal caliber with normal peristalsis. "
    "The visualized lung bases are clear. The osseous structures visualised are unremarkable. The abdominal wall "
    "soft tissues are unremarkable without collection, and the visualised portions of the psoas muscles are "
    "symmetric without focal abnormality. No retroperitoneal lymphadenopathy is identified within the limits of "
    "this examination, and the para-aortic regions are partly obscured by bowel gas.\n"
)


def _report_text(rng: random.Random, day: int) -> str:
    n = lambda lo, hi: f"{rng.uniform(lo, hi):.1f}"  # noqa: E731
    return (
        "EXAM: US ABDOMEN COMPLETE\n"
        f"DATE: 2026-10-{day:02d}\n"
        "CLINICAL HISTORY: Left flank fullness noted on examination; palpable mass, further evaluation requested by "
        "the primary care team after an episode of intermittent flank discomfort over the past several weeks.\n"
        "COMPARISON: None available at the time of dictation.\n"
        "TECHNIQUE: Real-time grayscale and color Doppler sonography of the abdomen was performed using curvilinear "
        "and linear transducers in multiple planes with the patient supine and in both decubitus positions.\n\n"
        "FINDINGS:\n"
        + ORGANS.format(a=n(13, 17), b=n(3, 6), c=n(8, 12), d=n(10, 12))
        + FINDING.format(e=n(10, 12), f=n(4, 7), g=n(3, 5), h=n(3, 5))
        + TAIL.format(i=n(1.5, 2.2))
        + "\nIMPRESSION:\n1. Solid left renal mass with internal calcification. CT of the abdomen without and with IV "
        "contrast is recommended for characterization.\n2. Otherwise unremarkable abdominal ultrasound.\n"
        "\nElectronically signed by the attending radiologist.\n"
    )


def _bundle(resources) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def body(i: int, narratives: bool, seed: int = 0) -> dict:
    """Call number `i` of a cold run (distinct patient and resource ids)."""
    rng = random.Random(seed * 1_000_003 + i)
    pid = f"cold-{'n' if narratives else 'c'}-{seed}-{i}"
    subject = {"reference": f"Patient/{pid}"}
    reports, conditions = [], []
    for k in range(5):
        report = {
            "resourceType": "DiagnosticReport",
            "id": f"{pid}-us-{k}",
            "status": "final",
            "subject": subject,
            "code": US,
            "effectiveDateTime": f"2026-10-{k + 1:02d}T09:00:00Z",
        }
        if narratives:
            text = _report_text(rng, k + 1)
            report["presentedForm"] = [
                {"contentType": "text/plain; charset=utf-8", "data": base64.b64encode(text.encode()).decode()}
            ]
        else:
            report["conclusionCode"] = [{"coding": [{"system": SCT, "code": "18115005"}]}]
        reports.append(report)
    if not narratives:
        conditions.append(
            {
                "resourceType": "Condition",
                "id": f"{pid}-mass",
                "subject": subject,
                "clinicalStatus": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
                },
                "code": {"coding": [{"system": SCT, "code": "309088003"}], "text": "Left renal mass"},
                "recordedDate": "2026-10-01",
            }
        )
    draft = {**data.mri_draft(), "id": f"{pid}-draft", "subject": subject}
    prefetch = {
        "patient": {"resourceType": "Patient", "id": pid, "birthDate": "1968-03-14", "gender": "male"},
        "conditions": _bundle(conditions),
        "imagingStudies": _bundle([]),
        "diagnosticReports": _bundle(reports),
        "imagingObservations": _bundle([]),
        "serviceRequests": None,
        "allergies": None,
    }
    request = data.order_select(draft, prefetch)
    request["context"]["patientId"] = pid
    return request


def bodies(count: int, narratives: bool, seed: int = 0) -> list[bytes]:
    return [data.encode(body(i, narratives, seed)) for i in range(count)]


def distinct(count: int, seed: int, narrative_every: int = 10) -> list[bytes]:
    """`count` calls, each for a patient never seen before; every `narrative_every`-th call's
    findings are only in narratives (the memory scenario: nothing repeats, caches must stay bounded)."""
    told = iter(bodies(count // narrative_every, True, seed))
    coded = iter(bodies(count - count // narrative_every, False, seed))
    return [next(told) if i % narrative_every == narrative_every - 1 else next(coded) for i in range(count)]
