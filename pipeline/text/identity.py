"""Identity words (religion, sexual orientation, nationality, race, gender, disability, age) masked to one token
per group before the features are computed.

Why: a linear model gives every word and every character n-gram a weight learnt from whichever training posts
happened to contain it. A religion's adjective that occurred in a few angry tweets drags a neutral sentence
towards negative, and its character n-grams do the same for words that merely share them. Replacing each identity
word by its group's placeholder (``muslim`` and ``christian`` -> ``xxreligion``) before the word n-grams, the
character n-grams and the static embeddings are computed makes the features of two posts that differ only in
those words identical, so the labels cannot differ. The group word still carries what it says in context ("the
xxreligion holiday"), only not which group.

The lists are written for this project: adjectives, plurals and common nouns of each group, and a few
multi-word forms (``south african``, ``middle - aged``: normalised text splits hyphens). Given names are handled
by counterfactual augmentation instead (:mod:`pipeline.text.names`). Words that are mostly something else in customer
posts are left out on purpose (pronouns, and ``guys`` as in "you guys"; country names such as ``turkey`` or ``china``);
some ambiguous ones are kept because leaving them out would let the group they name move a label (``black``,
``white``, ``straight``, ``old``): a post loses only which of its group's words it used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

GROUP_PLACEHOLDERS: dict[str, str] = {
    "religion": "xxreligion",
    "sexual orientation": "xxorientation",
    "nationality": "xxnationality",
    "race": "xxrace",
    "gender": "xxgender",
    "disability": "xxdisability",
    "age": "xxage",
}

_RELIGION = """
christian christians christianity muslim muslims moslem islam islamic jewish jew jews judaism hindu hindus hinduism
buddhist buddhists buddhism sikh sikhs sikhism atheist atheists atheism catholic catholics catholicism protestant
protestants mormon mormons jain jains taoist taoists shinto agnostic agnostics evangelical evangelicals baptist
baptists methodist methodists lutheran lutherans anglican anglicans pagan pagans wiccan rastafarian zoroastrian
bahai sunni sunnis shia shiite shiites quaker quakers amish orthodox
"""
_ORIENTATION = """
gay gays lesbian lesbians bisexual bisexuals bi straight heterosexual heterosexuals homosexual homosexuals queer
queers asexual asexuals pansexual pansexuals lgbt lgbtq lgbtq+ lgbtqia lgbtqia+ aromantic demisexual
"""
_NATIONALITY = """
afghan afghans albanian albanians algerian algerians american americans andorran angolan angolans argentine
argentinian argentinians armenian armenians australian australians austrian austrians azerbaijani bahamian
bahraini bangladeshi bangladeshis barbadian belarusian belgian belgians belizean beninese bhutanese bolivian
bolivians bosnian bosnians botswanan brazilian brazilians british brit brits bruneian bulgarian bulgarians
burkinabe burmese burundian cambodian cambodians cameroonian cameroonians canadian canadians chadian chilean
chileans chinese colombian colombians congolese croatian croatians cuban cubans cypriot czech czechs
danish dane danes dominican dominicans dutch ecuadorian ecuadorians egyptian egyptians emirati emiratis english
eritrean eritreans estonian estonians ethiopian ethiopians fijian filipino filipinos filipina finnish finn finns
french gabonese gambian georgian georgians german germans ghanaian ghanaians greek greeks grenadian guatemalan
guatemalans guinean guyanese haitian haitians honduran hondurans hungarian hungarians icelandic icelander indian
indians indonesian indonesians iranian iranians iraqi iraqis irish israeli israelis italian italians ivorian
jamaican jamaicans japanese jordanian jordanians kazakh kazakhstani kenyan kenyans korean koreans kosovar kuwaiti
kuwaitis kyrgyz lao laotian latvian latvians lebanese liberian liberians libyan libyans lithuanian lithuanians
luxembourgish macedonian malagasy malawian malaysian malaysians maldivian malian maltese mauritanian mauritian
mexican mexicans moldovan monegasque mongolian mongolians montenegrin moroccan moroccans mozambican namibian
nepalese nepali nepalis nicaraguan nicaraguans nigerian nigerians nigerien norwegian norwegians omani pakistani
pakistanis palestinian palestinians panamanian paraguayan peruvian peruvians polish pole poles portuguese qatari
romanian romanians russian russians rwandan rwandans salvadoran salvadorian samoan saudi saudis scottish scot
scots senegalese serbian serbians singaporean singaporeans slovak slovakian slovenian somali
somalis spanish spaniard spaniards sudanese surinamese swazi swedish swede swedes swiss syrian syrians taiwanese
tajik tanzanian tanzanians thai thais togolese tongan trinidadian tunisian tunisians turkish turk turks turkmen
ugandan ugandans ukrainian ukrainians uruguayan uzbek venezuelan venezuelans vietnamese welsh yemeni yemenis
zambian zambians zimbabwean zimbabweans
"""
_RACE = """
black blacks white whites asian asians hispanic hispanics latino latinos latina latinas latinx arab arabs
indigenous biracial multiracial caucasian caucasians aboriginal
"""
_GENDER = """
male males female females man men woman women girl girls boy boys lady ladies gentleman gentlemen transgender
trans nonbinary cisgender cis genderqueer genderfluid intersex husband wife boyfriend girlfriend son daughter
mother father mom mum dad brother sister grandma grandpa grandmother grandfather aunt uncle niece nephew
"""
_DISABILITY = """
blind deaf disabled disability disabilities autistic autism dyslexic dyslexia paraplegic quadriplegic
epileptic epilepsy handicapped mute amputee paralysed paralyzed
"""
_AGE = """
young old elderly older younger teenage teenager teenagers teen teens retired retiree retirees pensioner
pensioners seniors youngster youngsters millennial millennials boomer boomers
"""
# Multi-word forms, as normalised text writes them (lower case, hyphens split off).
_PHRASES: dict[str, tuple[str, ...]] = {
    "sexual orientation": ("gay men", "same - sex"),
    "nationality": (
        "south african", "south africans", "new zealander", "new zealanders", "sri lankan", "sri lankans",
        "puerto rican", "puerto ricans", "saudi arabian", "north korean", "north koreans", "south korean",
        "south koreans", "costa rican", "costa ricans", "hong konger", "dominican republic", "el salvadoran",
        "latin american", "latin americans", "middle eastern", "sierra leonean",
    ),
    "race": (
        "native american", "native americans", "african american", "african americans", "african - american",
        "african - americans", "pacific islander", "pacific islanders", "first nations", "people of color",
        "person of color", "mixed race", "mixed - race",
    ),
    "gender": ("non - binary", "non binary", "gender - fluid"),
    "disability": (
        "wheelchair user", "wheelchair users", "hard of hearing", "visually impaired", "hearing impaired",
        "in a wheelchair", "special needs",
    ),
    "age": ("middle - aged", "middle aged", "senior citizen", "senior citizens", "older people", "old people"),
}  # fmt: skip

IDENTITY_WORDS: dict[str, str] = {}
for _group, _text in (
    ("religion", _RELIGION),
    ("sexual orientation", _ORIENTATION),
    ("nationality", _NATIONALITY),
    ("race", _RACE),
    ("gender", _GENDER),
    ("disability", _DISABILITY),
    ("age", _AGE),
):
    for _word in _text.split():
        IDENTITY_WORDS.setdefault(_word, GROUP_PLACEHOLDERS[_group])
# Multi-token forms (tuples of tokens), longest first when matched.
IDENTITY_PHRASES: dict[tuple[str, ...], str] = {
    tuple(phrase.split()): GROUP_PLACEHOLDERS[group] for group, phrases in _PHRASES.items() for phrase in phrases
}
_MAX_PHRASE = max(len(p) for p in IDENTITY_PHRASES)
_PHRASE_STARTS = frozenset(p[0] for p in IDENTITY_PHRASES)
PLACEHOLDERS = frozenset(GROUP_PLACEHOLDERS.values())
_TOKEN_RE = re.compile(r"\S+")


def mask_tokens(tokens: Sequence[str]) -> list[str]:
    """``tokens`` (normalised) with every identity word or phrase replaced by its group's placeholder."""
    out: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        if token in _PHRASE_STARTS:
            for length in range(min(_MAX_PHRASE, n - i), 1, -1):
                found = IDENTITY_PHRASES.get(tuple(tokens[i : i + length]))
                if found is not None:
                    out.append(found)
                    i += length
                    break
            else:
                out.append(IDENTITY_WORDS.get(token, token))
                i += 1
            continue
        out.append(IDENTITY_WORDS.get(token, token))
        i += 1
    return out


def mask_identity(text: str) -> str:
    """A normalised text with its identity words masked (:func:`mask_tokens`)."""
    return " ".join(mask_tokens(text.split()))


def covers(word: str) -> bool:
    """Whether ``word`` (as a person writes it, e.g. ``Middle-aged``) is masked: every token of its normalised form
    belongs to one identity word or phrase."""
    tokens = re.sub(r"-", " - ", word.lower()).split()
    return all(token in PLACEHOLDERS for token in mask_tokens(tokens))
