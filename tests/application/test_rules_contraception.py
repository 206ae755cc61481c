"""C1, C2, C3, C4: contraception for females of reproductive potential."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.application.helpers_rules import assert_denial_recorded, assert_denied, subsequent_frp
from tests.program import Program

UNACCEPTABLE = [
    "progesterone_only_pill",
    "iud_progesterone_t",
    "female_condom",
    "natural_family_planning",
    "breastfeeding",
    "fertility_awareness",
    "withdrawal",
    "cervical_shield",
]


def regimen(program: Program, methods: list[str], **extra: Any) -> dict[str, Any]:
    """An FRP ready for her initial prescription (03-13) on this regimen, started 40 days ago;
    the authorization's result."""
    program.ready_frp()
    program.contraception(methods=methods, **extra)
    return program.authorize()


# -- C1: abstinence, or one highly effective and one additional method -----------------------


def test_C1_allows_complete_abstinence(program: Program) -> None:
    """Complete abstinence satisfies C1 without any method."""
    assert regimen(program, [], abstinence=True)["ok"]


@pytest.mark.parametrize(
    "methods",
    [
        ["iud", "male_condom"],
        ["hormonal_pill", "diaphragm"],
        ["implant", "cervical_cap"],
        ["tubal_ligation", "male_condom"],
        ["partner_vasectomy", "male_condom"],
    ],
)
def test_C1_allows_one_highly_effective_and_one_additional_method(
    program: Program, methods: list[str]
) -> None:
    """A highly effective method used together with an additional one satisfies C1."""
    assert regimen(program, methods)["ok"]


@pytest.mark.parametrize(
    "methods",
    [["iud"], ["male_condom"], ["iud", "hormonal_pill"], ["male_condom", "diaphragm"]],
)
def test_C1_denies_without_one_method_of_each_kind(program: Program, methods: list[str]) -> None:
    """One method alone, or two of the same kind, leaves C1 unmet."""
    assert_denied(regimen(program, methods), "C1")
    assert_denial_recorded(program, "AuthorizationDenied", "C1")


def test_C1_denies_when_no_contraception_is_recorded_with_C2(program: Program) -> None:
    """Without any regimen on file both C1 and C2 are unmet."""
    program.enroll()
    program.counsel()
    program.survey()
    program.test()
    program.advance(days=12)
    program.test(collected_at=program.now - timedelta(hours=2))
    assert_denied(program.authorize(), "C1", "C2")


def test_C1_does_not_apply_to_a_female_not_of_reproductive_potential(program: Program) -> None:
    """An FNRP patient needs no contraception on file."""
    program.enroll(menstruation="regular", hysterectomy=True)
    program.counsel()
    program.survey()
    assert program.authorize()["ok"]


# -- C2: started at least 4 weeks (28 days) before -------------------------------------------


def test_C2_allows_a_regimen_started_28_days_before(program: Program) -> None:
    """A regimen started on 02-13 serves a prescription on 03-13."""
    program.ready_frp()
    program.contraception(started_on=program.today - timedelta(days=28))
    assert program.authorize()["ok"]


def test_C2_denies_a_regimen_started_27_days_before(program: Program) -> None:
    """A regimen started on 02-14 is one day short for a prescription on 03-13."""
    program.ready_frp()
    program.contraception(started_on=program.today - timedelta(days=27))
    assert_denied(program.authorize(), "C2")


def test_C2_applies_to_every_frp_authorization_not_only_the_first(program: Program) -> None:
    """A subsequent prescription also needs 28 days of continuous use."""
    subsequent_frp(program)
    program.at("2026-03-18 09:00")
    program.contraception(started_on=program.today - timedelta(days=10))
    assert_denied(program.authorize(), "C2")
    program.contraception(started_on=program.today - timedelta(days=28))
    assert program.authorize()["ok"]


def test_C2_applies_to_abstinence(program: Program) -> None:
    """Abstinence also has to have started 28 days before."""
    program.ready_frp()
    program.contraception(methods=[], abstinence=True, started_on=program.today)
    assert_denied(program.authorize(), "C2")


# -- C3: methods that are not acceptable -------------------------------------------------------


@pytest.mark.parametrize("method", UNACCEPTABLE)
def test_C3_denies_an_unacceptable_method_in_place_of_the_additional_one(
    program: Program, method: str
) -> None:
    """An IUD with an unacceptable second method leaves C1 unmet and names C3."""
    assert_denied(regimen(program, ["iud", method]), "C1", "C3")


@pytest.mark.parametrize("method", UNACCEPTABLE)
def test_C3_denies_an_unacceptable_method_in_place_of_the_highly_effective_one(
    program: Program, method: str
) -> None:
    """A male condom with an unacceptable first method leaves C1 unmet and names C3."""
    assert_denied(regimen(program, [method, "male_condom"]), "C1", "C3")


def test_C3_allows_an_unacceptable_method_on_top_of_two_acceptable_ones(
    program: Program,
) -> None:
    """An unacceptable extra never counts, but does not undo two acceptable methods."""
    assert regimen(program, ["iud", "male_condom", "withdrawal"])["ok"]


# -- C4: hormonal or IUD contraception contraindicated ----------------------------------------


@pytest.mark.parametrize(
    "methods",
    [
        ["tubal_ligation", "male_condom"],
        ["partner_vasectomy", "diaphragm"],
        ["male_condom", "diaphragm"],
        ["diaphragm", "cervical_cap"],
        ["tubal_ligation", "partner_vasectomy"],
    ],
)
def test_C4_allows_two_other_effective_methods_when_hormonal_is_contraindicated(
    program: Program, methods: list[str]
) -> None:
    """Under a contraindication any two distinct non-hormonal, non-IUD methods satisfy C1."""
    assert regimen(program, methods, hormonal_contraindicated=True)["ok"]


@pytest.mark.parametrize(
    "methods",
    [["iud", "male_condom"], ["hormonal_pill", "implant"], ["male_condom"], ["vaginal_ring"]],
)
def test_C4_denies_when_hormonal_or_iud_methods_are_counted_or_one_method_is_left(
    program: Program, methods: list[str]
) -> None:
    """Under a contraindication hormonal/IUD methods do not count: C1 and C4 are unmet."""
    assert_denied(regimen(program, methods, hormonal_contraindicated=True), "C1", "C4")


def test_C4_denies_an_unacceptable_method_as_the_second_one_with_C3(program: Program) -> None:
    """Under a contraindication a condom and a female condom are C1, C3 and C4."""
    result = regimen(program, ["male_condom", "female_condom"], hormonal_contraindicated=True)
    assert_denied(result, "C1", "C3", "C4")


def test_C4_two_additional_methods_do_not_suffice_without_a_contraindication(
    program: Program,
) -> None:
    """Without the contraindication a condom and a diaphragm are not enough (C1)."""
    assert_denied(regimen(program, ["male_condom", "diaphragm"]), "C1")
