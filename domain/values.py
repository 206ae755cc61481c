"""Value types of the program: the closed vocabularies of the Patient-Physician Agreement Form."""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    """Sex as stated on the enrollment form."""

    FEMALE = "female"
    MALE = "male"


class Menstruation(StrEnum):
    """The menstrual status the prescriber states on the form (E4, R1)."""

    REGULAR = "regular"
    IRREGULAR = "irregular"
    AMENORRHEIC_FROM_TREATMENT = "amenorrheic_from_treatment"
    PERIMENOPAUSAL = "perimenopausal"
    NOT_STARTED = "not_started"
    MENOPAUSE = "menopause"


class RiskCategory(StrEnum):
    """The six patient risk categories (R2), written on every prescription."""

    ADULT_FEMALE_REPRODUCTIVE_POTENTIAL = "adult_female_reproductive_potential"
    ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL = "adult_female_not_reproductive_potential"
    FEMALE_CHILD_REPRODUCTIVE_POTENTIAL = "female_child_reproductive_potential"
    FEMALE_CHILD_NOT_REPRODUCTIVE_POTENTIAL = "female_child_not_reproductive_potential"
    ADULT_MALE = "adult_male"
    MALE_CHILD = "male_child"

    @property
    def is_frp(self) -> bool:
        """Female of reproductive potential, adult or child."""
        return self in (
            RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL,
            RiskCategory.FEMALE_CHILD_REPRODUCTIVE_POTENTIAL,
        )

    @property
    def is_female(self) -> bool:
        """Any female category."""
        return self not in (RiskCategory.ADULT_MALE, RiskCategory.MALE_CHILD)


class Channel(StrEnum):
    """How the prescription reaches the pharmacy (A3 forbids telephone)."""

    ELECTRONIC = "electronic"
    FAX = "fax"
    TELEPHONE = "telephone"


class PregnancyTestResult(StrEnum):
    """Result of a pregnancy test."""

    NEGATIVE = "negative"
    POSITIVE = "positive"


class CounselingTopic(StrEnum):
    """The nine topics of comprehensive counseling (K1)."""

    BENEFITS_AND_RISKS = "benefits_and_risks"
    BIRTH_DEFECTS = "birth_defects"
    NO_SHARING = "no_sharing"
    NO_BLOOD_DONATION = "no_blood_donation"
    CONTRACEPTION = "contraception"
    EMERGENCY_CONTRACEPTION = "emergency_contraception"
    CAPSULE_HANDLING = "capsule_handling"
    CAPSULE_RETURN = "capsule_return"
    RESOURCE_PACK = "resource_pack"


class Method(StrEnum):
    """Contraceptive methods named by the guide (C1, C3, C4)."""

    IUD = "iud"
    HORMONAL_PILL = "hormonal_pill"
    HORMONAL_PATCH = "hormonal_patch"
    HORMONAL_INJECTION = "hormonal_injection"
    VAGINAL_RING = "vaginal_ring"
    IMPLANT = "implant"
    TUBAL_LIGATION = "tubal_ligation"
    PARTNER_VASECTOMY = "partner_vasectomy"
    MALE_CONDOM = "male_condom"
    DIAPHRAGM = "diaphragm"
    CERVICAL_CAP = "cervical_cap"
    PROGESTERONE_ONLY_PILL = "progesterone_only_pill"
    IUD_PROGESTERONE_T = "iud_progesterone_t"
    FEMALE_CONDOM = "female_condom"
    NATURAL_FAMILY_PLANNING = "natural_family_planning"
    BREASTFEEDING = "breastfeeding"
    FERTILITY_AWARENESS = "fertility_awareness"
    WITHDRAWAL = "withdrawal"
    CERVICAL_SHIELD = "cervical_shield"


HIGHLY_EFFECTIVE = frozenset(
    {
        Method.IUD,
        Method.HORMONAL_PILL,
        Method.HORMONAL_PATCH,
        Method.HORMONAL_INJECTION,
        Method.VAGINAL_RING,
        Method.IMPLANT,
        Method.TUBAL_LIGATION,
        Method.PARTNER_VASECTOMY,
    }
)
ADDITIONAL_EFFECTIVE = frozenset({Method.MALE_CONDOM, Method.DIAPHRAGM, Method.CERVICAL_CAP})
HORMONAL_OR_IUD = frozenset(
    {
        Method.IUD,
        Method.HORMONAL_PILL,
        Method.HORMONAL_PATCH,
        Method.HORMONAL_INJECTION,
        Method.VAGINAL_RING,
        Method.IMPLANT,
    }
)
UNACCEPTABLE = frozenset(set(Method) - HIGHLY_EFFECTIVE - ADDITIONAL_EFFECTIVE)


class Language(StrEnum):
    """The 16 languages the program's materials are printed in (E5)."""

    ARABIC = "arabic"
    CAMBODIAN = "cambodian"
    CHINESE = "chinese"
    ENGLISH = "english"
    FRENCH = "french"
    GERMAN = "german"
    GREEK = "greek"
    ITALIAN = "italian"
    JAPANESE = "japanese"
    KOREAN = "korean"
    LAOTIAN = "laotian"
    POLISH = "polish"
    PORTUGUESE = "portuguese"
    RUSSIAN = "russian"
    SPANISH = "spanish"
    VIETNAMESE = "vietnamese"


class CapsuleReturnPlace(StrEnum):
    """Where unused capsules were returned (X1)."""

    REMS = "rems"
    PRESCRIBER = "prescriber"
    PHARMACY = "pharmacy"


class PregnancyResolution(StrEnum):
    """How compliance closed a pregnancy report (clears T7)."""

    NOT_PREGNANT = "not_pregnant"
    PREGNANCY_ENDED = "pregnancy_ended"


class DuplicateFinding(StrEnum):
    """Compliance's finding on an E8 possible duplicate enrollment."""

    DISTINCT_PEOPLE = "distinct_people"
    SAME_PERSON = "same_person"


DEL_5Q_MDS_ICD10 = "D46.C"
"""ICD-10 code of myelodysplastic syndrome with isolated del(5q): M1 applies."""
