"""``lad education``: a tenant's students and counsellors (as the operator)."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from lad_domain.education.model import Counsellor, Student, StudentFilter
from lad_entrypoints.cli.common import (
    OPERATOR,
    CursorOption,
    JsonOption,
    LimitOption,
    TenantOption,
    container,
    page,
    tenant_id,
)
from lad_entrypoints.cli.output import emit, emit_one

app = typer.Typer(help="Education: students (leads' profiles), counsellors and caseloads.",
                  no_args_is_help=True)
students = typer.Typer(help="Students: list, enrol, show, remove.", no_args_is_help=True)
counsellors = typer.Typer(help="Counsellors: list, add, remove.", no_args_is_help=True)
app.add_typer(students, name="students")
app.add_typer(counsellors, name="counsellors")

StudentId = Annotated[uuid.UUID, typer.Argument(help="The student's id.")]
CounsellorId = Annotated[uuid.UUID, typer.Argument(help="The counsellor's id.")]
CounsellorOption = Annotated[uuid.UUID | None, typer.Option(
    "--counsellor", help="A counsellor's id.")]


def _student(student: Student) -> dict[str, object]:
    return {"id": student.id, "lead_id": student.lead_id, "grade": student.grade,
            "country": student.country, "intended_programme": student.intended_programme,
            "student_parent_name": student.student_parent_name,
            "counsellor_id": student.counsellor_id, "created_at": student.created_at}


def _counsellor(counsellor: Counsellor) -> dict[str, object]:
    return {"id": counsellor.id, "user_id": counsellor.user_id,
            "counselor_code": counsellor.counselor_code,
            "display_name": counsellor.display_name, "created_at": counsellor.created_at}


@students.command("list")
def list_students(ctx: typer.Context, tenant: TenantOption, counsellor: CounsellorOption = None,
                  grade: Annotated[str | None, typer.Option(help="Only this grade.")] = None,
                  country: Annotated[str | None, typer.Option(
                      help="Only this country (ISO 3166 alpha-2, e.g. GB).")] = None,
                  as_json: JsonOption = False, limit: LimitOption = 50,
                  cursor: CursorOption = None) -> None:
    """List the tenant's students, newest first."""
    found = container(ctx).education().list_students(
        OPERATOR, StudentFilter(counsellor_id=counsellor, grade=grade, country=country),
        page(limit, cursor), tenant_id=tenant_id(ctx, tenant))
    emit([_student(s) for s in found.items], as_json=as_json, next_cursor=found.next_cursor)


@students.command("enrol")
def enrol_student(
    ctx: typer.Context,
    lead: Annotated[uuid.UUID, typer.Argument(help="The lead's id.")],
    tenant: TenantOption,
    parent_name: Annotated[str | None, typer.Option(help="The student's parent.")] = None,
    grade: Annotated[str | None, typer.Option(help="The school grade.")] = None,
    programme: Annotated[str | None, typer.Option(help="The intended programme.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-2, e.g. GB.")] = None,
    counsellor: CounsellorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a lead a student profile (one per lead)."""
    given = {"student_parent_name": parent_name, "grade": grade,
             "intended_programme": programme, "country": country}
    student = container(ctx).education().enrol_student(
        OPERATOR, lead, {k: v for k, v in given.items() if v is not None},
        counsellor_id=counsellor, tenant_id=tenant_id(ctx, tenant))
    emit_one(_student(student), as_json=as_json)


@students.command("show")
def show_student(ctx: typer.Context, student: StudentId, tenant: TenantOption,
                 as_json: JsonOption = False) -> None:
    """One student's profile."""
    found = container(ctx).education().get_student(OPERATOR, student,
                                                   tenant_id=tenant_id(ctx, tenant))
    emit_one(_student(found), as_json=as_json)


@students.command("remove")
def remove_student(ctx: typer.Context, student: StudentId, tenant: TenantOption) -> None:
    """Remove a student profile; the lead stays."""
    container(ctx).education().remove_student(OPERATOR, student,
                                              tenant_id=tenant_id(ctx, tenant))


@counsellors.command("list")
def list_counsellors(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
                     limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    """List the tenant's counsellors."""
    found = container(ctx).education().list_counsellors(
        OPERATOR, page(limit, cursor), tenant_id=tenant_id(ctx, tenant))
    emit([_counsellor(c) for c in found.items], as_json=as_json,
         next_cursor=found.next_cursor)


@counsellors.command("add")
def add_counsellor(
    ctx: typer.Context,
    user: Annotated[uuid.UUID, typer.Argument(help="The member's user id.")],
    tenant: TenantOption,
    code: Annotated[str, typer.Option("--code", help="The counselor_code students know.")],
    name: Annotated[str | None, typer.Option(help="A display name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Make a member a counsellor."""
    counsellor = container(ctx).education().add_counsellor(
        OPERATOR, user, code, name=name, tenant_id=tenant_id(ctx, tenant))
    emit_one(_counsellor(counsellor), as_json=as_json)


@counsellors.command("remove")
def remove_counsellor(
    ctx: typer.Context, counsellor: CounsellorId, tenant: TenantOption,
    reassign_to: Annotated[uuid.UUID | None, typer.Option(
        help="Another counsellor, who takes the caseload in the same step.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a counsellor; a caseload moves to --reassign-to."""
    moved = container(ctx).education().remove_counsellor(
        OPERATOR, counsellor, reassign_to=reassign_to, tenant_id=tenant_id(ctx, tenant))
    emit_one({"counsellor_id": counsellor, "students_moved": moved}, as_json=as_json)


@app.command("assign")
def assign(
    ctx: typer.Context, student: StudentId, tenant: TenantOption,
    counsellor: Annotated[uuid.UUID | None, typer.Argument(
        help="The counsellor's id; none: take the student off any caseload.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Assign, re-assign or (without a counsellor) unassign a student."""
    found = container(ctx).education().assign_counsellor(
        OPERATOR, student, counsellor, tenant_id=tenant_id(ctx, tenant))
    emit_one(_student(found), as_json=as_json)
