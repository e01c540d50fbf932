from importlib import resources

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings.code_systems import SNOMED_CT
from fhir_mappings.context import _lexicon
from fhir_mappings.intent import _vocabulary, read_intent
from fhir_mappings.phrases import Text
from fhir_mappings.readers import read_draft_orders, read_procedures
from fhir_mappings.spine import Approach, SpinalLevel, SpinalRegion
from plugin.sandbox.resources import procedure, service_request

CERVICAL_THORACIC = frozenset({SpinalRegion.CERVICAL_THORACIC})
LUMBAR_SACRAL = frozenset({SpinalRegion.LUMBAR_SACRAL})


def test_selective_nerve_root_block_is_transforaminal() -> None:
    assert read_intent("Selective nerve root block right L5").approach is Approach.TRANSFORAMINAL


def test_caudal_is_an_interlaminar_approach_in_the_lumbar_sacral_region() -> None:
    intent = read_intent("Caudal epidural steroid injection")
    assert intent.approach is Approach.INTERLAMINAR
    assert intent.body_site_regions == LUMBAR_SACRAL


def test_region_words_in_the_order_text_name_a_region() -> None:
    assert read_intent("Cervical interlaminar ESI under fluoroscopy").body_site_regions == CERVICAL_THORACIC


def test_levels_in_the_text_name_their_upper_segments_region() -> None:
    intent = read_intent("Transforaminal ESI T12-L1")
    assert intent.levels == (SpinalLevel("T12", "L1"),)
    assert intent.body_site_regions == CERVICAL_THORACIC


def test_thoracolumbar_names_no_region() -> None:
    assert read_intent("thoracolumbar epidural").body_site_regions == frozenset()


def test_snomed_body_site_codes_name_regions() -> None:
    intent = read_intent("Epidural steroid injection", body_site_codes=[(SNOMED_CT, "122496007")])
    assert intent.body_site_regions == LUMBAR_SACRAL


def test_cervical_and_thoracic_spine_codes_are_one_region() -> None:
    codes = [(SNOMED_CT, "122494005"), (SNOMED_CT, "122495006")]
    assert read_intent("", body_site_codes=codes).body_site_regions == CERVICAL_THORACIC


def test_sacrum_code_is_lumbar_sacral() -> None:
    assert read_intent("", body_site_codes=[(SNOMED_CT, "54735007")]).body_site_regions == LUMBAR_SACRAL


def test_body_site_codes_of_other_systems_are_ignored() -> None:
    assert read_intent("", body_site_codes=[("http://example.org/sites", "122496007")]).body_site_regions == frozenset()


def test_unknown_snomed_body_site_names_no_region() -> None:
    assert read_intent("", body_site_codes=[(SNOMED_CT, "421060004")]).body_site_regions == frozenset()


def test_catheter_words_say_catheter() -> None:
    assert read_intent("Lumbar epidural catheter, continuous infusion").catheter is True


def test_catheter_used_for_a_single_bolus_is_a_single_shot() -> None:
    assert read_intent("Epidural catheter placed, single bolus only, catheter removed").catheter is False


def test_infusion_and_single_shot_words_together_say_nothing() -> None:
    assert read_intent("Lumbar epidural, single shot; continuous infusion via epidural catheter").catheter is None


def test_a_catheter_only_considered_leaves_the_stated_single_shot() -> None:
    assert read_intent("single shot epidural; indwelling catheter considered").catheter is False


def test_dehydrated_alcohol_is_neurolytic() -> None:
    assert read_intent("Epidural injection of dehydrated alcohol").neurolytic is True


def test_steroid_injection_is_not_neurolytic() -> None:
    assert read_intent("Lumbar interlaminar epidural steroid injection, triamcinolone").neurolytic is False


def test_order_body_site_coding_reaches_the_orders_intent() -> None:
    site = {"coding": [{"system": SNOMED_CT, "code": "122494005", "display": "Cervical spine"}]}
    injections, _ = read_draft_orders([service_request("o1", "62323", "Epidural steroid injection", bodySite=[site])])
    [order] = injections.facts
    assert order.intent.body_site_regions == CERVICAL_THORACIC


def test_procedure_body_site_coding_reaches_the_performed_intent() -> None:
    site = {"coding": [{"system": SNOMED_CT, "code": "122496007"}]}
    reading = read_procedures([procedure("p1", "62321", "2026-11-27", bodySite=[site])])
    [injection] = reading.performed.facts
    assert injection.intent.body_site_regions == LUMBAR_SACRAL


def _phrases_of(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [phrase for item in items for phrase in _phrases_of(item)]


# Every phrase the shipped vocabulary knows, as written and in capitals, plus a level range and a mixed-case phrase.
_VOCABULARY_WORDS = [
    variant
    for phrase in _phrases_of(
        yaml.safe_load(resources.files("fhir_mappings.data").joinpath("injection_vocabulary.yaml").read_text("utf-8"))
    )
    for variant in (phrase, phrase.upper())
] + ["L4-L5", "Bilateral"]


@pytest.mark.fuzz
@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_VOCABULARY_WORDS),
            st.text(max_size=6),
            st.sampled_from([" ", "-", "/", "_", "9", "x", "ſ", "K"]),
        ),
        max_size=12,
    )
)
def test_the_ascii_prefilter_never_changes_what_the_vocabulary_finds(pieces: list[str]) -> None:
    text = "".join(pieces)
    for book in (_vocabulary(), _lexicon()):
        phrases = book.phrases
        assert phrases.search(Text(text)) == (phrases.pattern.search(text) is not None)
        assert list(phrases.spans(Text(text))) == [match.span() for match in phrases.pattern.finditer(text)]
        assert all(labels for _, _, labels in book.matches(Text(text)))


def test_the_longest_phrase_wins_where_phrases_overlap() -> None:
    assert [labels for _, _, labels in _vocabulary().matches(Text("no fluoroscopy"))] == [(("without_guidance", True),)]
