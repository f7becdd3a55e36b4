from collections import Counter

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from controller.parcels.gs1 import GS, GS1_SYMBOLOGIES, Gs1Error, gs1_check_digit, parse_gs1

SSCC = "106141412345678908"  # GS1's example SSCC, check digit 8


def test_check_digit_of_known_numbers():
    assert gs1_check_digit("400638133393") == 1  # EAN-13 4006381333931
    assert gs1_check_digit(SSCC[:-1]) == 8


def test_sscc_and_postal_code_from_a_gs1_128_label():
    label = parse_gs1("]C1" + "00" + SSCC + "420" + "10115")
    assert label.get("00") == SSCC
    assert label.postal_code == "10115"
    assert label.as_dict() == {"00": SSCC, "420": "10115"}


def test_fnc1_ends_a_variable_length_field():
    label = parse_gs1("]C1401ABC-123" + GS + "42010115" + GS + "403R07")
    assert label.elements == (("401", "ABC-123"), ("420", "10115"), ("403", "R07"))


def test_fixed_length_field_may_be_followed_by_a_needless_fnc1():
    assert parse_gs1("00" + SSCC + GS + "42075001").postal_code == "75001"


def test_421_drops_the_country_code():
    assert parse_gs1("421250" + "75001").postal_code == "75001"


def test_bracketed_human_readable_form():
    label = parse_gs1(f"(00){SSCC}(420)10115")
    assert label.get("00") == SSCC and label.postal_code == "10115"


def test_gs1_datamatrix_prefix_is_accepted():
    assert parse_gs1("]d2" + "00" + SSCC).get("00") == SSCC


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("00" + SSCC[:-1] + "7", "wrong check digit"),
        ("00" + SSCC[:10], "data ends first"),
        ("99", "characters, expected 1 to 90"),
        ("7777", "unknown Application Identifier"),
        ("", "empty"),
        ("420" + "1" * 21, "expected 1 to 20"),
        ("00" + "\u00b2" * 18, "wrong check digit"),  # superscript two, Latin-1 0xB2: isdigit()
        ("00" + "\u0661" * 17 + "\u0665", "wrong check digit"),  # Arabic-Indic digits
        ("200" + GS + "00", "an FNC1 comes first"),  # AI 20 is two digits, FNC1 is not one
    ],
)
def test_bad_element_strings_say_why(data, why):
    with pytest.raises(Gs1Error, match=why):
        parse_gs1(data)


# -- generated element strings ---------------------------------------------------------

DIGITS = "0123456789"
#: GS1 AI encodable character set 82 (General Specifications, figure 7.11-1) without the
#: parentheses, which delimit AIs in the bracketed human-readable form.
CSET82 = "!\"%&'*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
FIXED_LENGTH = {"00", "01"}
FORMS = ("plain", "bracketed", *GS1_SYMBOLOGIES)

Element = tuple[str, str]


def _with_check_digit(digits: str) -> str:
    return digits + str(gs1_check_digit(digits))


VALUES: dict[str, st.SearchStrategy[str]] = {
    "00": st.text(DIGITS, min_size=17, max_size=17).map(_with_check_digit),  # SSCC
    "01": st.text(DIGITS, min_size=13, max_size=13).map(_with_check_digit),  # GTIN
    "420": st.text(CSET82, min_size=1, max_size=20),  # ship-to postal code
    "421": st.builds(  # ISO 3166 numeric country code, then the postal code
        str.__add__,
        st.text(DIGITS, min_size=3, max_size=3),
        st.text(CSET82, min_size=1, max_size=9),
    ),
    "401": st.text(CSET82, min_size=1, max_size=30),  # consignment
    "403": st.text(CSET82, min_size=1, max_size=30),  # routing code
}


@st.composite
def element_strings(draw: st.DrawFn) -> tuple[str, str, tuple[Element, ...]]:
    """(form, the symbol's data, its elements): FNC1 after every variable-length field but
    the last, and sometimes a needless one after a fixed-length field."""
    ais = draw(st.permutations(sorted(VALUES)))[: draw(st.integers(1, 5))]
    elements = tuple((ai, draw(VALUES[ai])) for ai in ais)
    form = draw(st.sampled_from(FORMS))
    if form == "bracketed":
        return form, "".join(f"({ai}){value}" for ai, value in elements), elements
    data = "" if form == "plain" else form
    for i, (ai, value) in enumerate(elements):
        data += ai + value
        last = i == len(elements) - 1
        if not last and (ai not in FIXED_LENGTH or draw(st.booleans())):
            data += GS
    return form, data, elements


@given(element_strings())
def test_generated_element_strings_parse_back_to_their_elements(generated):
    form, data, elements = generated
    note(f"data: {data!r}")
    event(f"form: {form}")
    label = parse_gs1(data)
    assert label.elements == elements
    ais = dict(elements)
    expected_postal = ais.get("420") or (ais["421"][3:] if "421" in ais else None)
    event(f"postal code from AI {'420' if '420' in ais else '421' if '421' in ais else '-'}")
    assert label.postal_code == expected_postal
    assert label.get("00") == ais.get("00") and label.as_dict() == ais


@st.composite
def damaged_element_strings(draw: st.DrawFn) -> str:
    """A valid element string with one to three characters deleted, inserted or replaced."""
    _, data, _ = draw(element_strings())
    edits = st.tuples(
        st.sampled_from(("delete", "insert", "replace")),
        st.integers(min_value=0, max_value=200),
        st.one_of(st.sampled_from(DIGITS + GS + "()"), st.characters(codec="utf-8")),
    )
    for op, at, char in draw(st.lists(edits, min_size=1, max_size=3)):
        i = at % (len(data) + 1)
        if op == "insert":
            data = data[:i] + char + data[i:]
        elif data:
            i %= len(data)
            data = data[:i] + ("" if op == "delete" else char) + data[i + 1 :]
    return data


def test_garbage_parses_or_raises_gs1error_only():
    """The parser's contract for any text: a label with elements, or Gs1Error; never another
    exception, and never an SSCC/GTIN whose check digit is wrong."""
    outcomes: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(damaged_element_strings(), st.text(max_size=60)))
    def parses_or_raises_gs1error(data: str) -> None:
        note(f"data: {data!r}")
        try:
            label = parse_gs1(data)
        except Gs1Error:
            outcomes["rejected"] += 1
            event("rejected")
            return
        outcomes["parsed"] += 1
        event("parsed")
        assert label.elements
        for ai, value in label.elements:
            assert value and GS not in value
            if ai in FIXED_LENGTH:
                assert value.isascii() and value.isdigit(), (ai, value)
                assert gs1_check_digit(value[:-1]) == int(value[-1]), (ai, value)

    parses_or_raises_gs1error()
    assert outcomes["parsed"] > 0 and outcomes["rejected"] > 0, outcomes  # both branches ran
