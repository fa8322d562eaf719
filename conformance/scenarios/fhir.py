"""FHIR R4 facade: metadata, Patient read, Observation search (also by date), judged by content."""

from __future__ import annotations

from conformance.checks.content import FHIR, fhir_id, fhir_resource, fhir_searchset, same_patient
from conformance.context import Context
from conformance.errors import ConformanceFailure

CHECK = "fhir_search"
OPERATION = "scenario: FHIR search"


def fhir_search(ctx: Context) -> None:
    """Search the patient's Observations; every entry is theirs, the date prefixes are honoured."""
    if not ctx.documented("GET", "/fhir/r4/Observation"):
        return
    if not ctx.needs_patient(OPERATION, CHECK):
        return
    assert ctx.patient_id is not None
    target = ctx.target
    try:
        if ctx.documented("GET", "/fhir/r4/metadata"):
            fhir_resource(target.request("GET", "/fhir/r4/metadata"), "CapabilityStatement")
            ctx.passed("GET /fhir/r4/metadata", FHIR)
        if ctx.documented("GET", "/fhir/r4/Patient/{patient_id}"):
            read = target.request(
                "GET", "/fhir/r4/Patient/{patient_id}", path_params={"patient_id": ctx.patient_id}
            )
            patient = fhir_resource(read, "Patient")
            if not same_patient(patient.get("id"), ctx.patient_id):
                raise ConformanceFailure(
                    FHIR,
                    f"Patient.id {patient.get('id')!r}",
                    repr(fhir_id(ctx.patient_id)),
                    operation=read.operation,
                )
            ctx.passed(read.operation, FHIR)
        search = target.request(
            "GET", "/fhir/r4/Observation", params={"patient": ctx.patient_id, "_count": 20}
        )
        ctx.expect_status(search, CHECK, 200, "200 searchset Bundle")
        found = fhir_searchset(search, ctx.patient_id)
        if len(found) > 20:
            raise ConformanceFailure(CHECK, f"{len(found)} entries with _count=20", "at most _count entries")
        days = sorted(
            {str(item.get("effectiveDateTime", ""))[:10] for item in found if item.get("effectiveDateTime")}
        )
        if days:
            day = days[len(days) // 2]
            dated = target.request(
                "GET",
                "/fhir/r4/Observation",
                params=[("patient", ctx.patient_id), ("date", f"ge{day}"), ("date", f"le{day}")],
            )
            ctx.expect_status(dated, CHECK, 200, "200 searchset Bundle")
            for item in fhir_searchset(dated, ctx.patient_id):
                when = str(item.get("effectiveDateTime", ""))[:10]
                if when != day:
                    raise ConformanceFailure(
                        CHECK,
                        f"date=ge{day}&date=le{day} returned an Observation of {when!r}",
                        f"only Observations effective on {day}",
                    )
        ctx.passed("GET /fhir/r4/Observation", FHIR)
    except ConformanceFailure as failure:
        ctx.fail(failure, failure.operation or OPERATION)
        return
    ctx.passed(OPERATION, CHECK)
