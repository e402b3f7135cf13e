"""Companies by industry, as posts name them: the lists that draw the cross-industry judge and the training posts
that mention companies (``scripts/data/sample_company_mentions.py``), and pick the posts a teacher pseudo-labels
(``scripts/data/make_pseudo_labels.py --naming-company``)."""

from __future__ import annotations

import re

# Names and handles that identify a company of each industry in a tweet (case-folded, whole words). Airlines
# are left out on purpose: the judge measures posts outside air travel.
INDUSTRIES: dict[str, tuple[str, ...]] = {
    "technology": (
        "apple", "iphone", "ipad", "macbook", "itunes", "microsoft", "windows 10", "google", "samsung", "galaxy s7",
        "sony", "nintendo", "xbox", "playstation", "ps4", "intel", "dell", "lenovo", "snapchat", "facebook",
        "instagram", "twitter", "youtube", "android",
    ),
    "telecom": ("verizon", "at&t", "t-mobile", "tmobile", "sprint", "comcast", "xfinity", "vodafone", "o2", "ee"),
    "retail": ("amazon", "walmart", "target", "ebay", "best buy", "bestbuy", "costco", "tesco", "ikea", "argos"),
    "food-and-drink": (
        "mcdonald's", "mcdonalds", "starbucks", "burger king", "kfc", "subway", "chipotle", "taco bell", "pizza hut",
        "domino's", "dominos", "coca-cola", "coke", "pepsi", "wendy's", "dunkin",
    ),
    "automotive": ("tesla", "ford", "toyota", "honda", "bmw", "chevy", "chevrolet", "nissan", "volkswagen", "vw"),
    "transport": ("uber", "lyft", "amtrak", "greyhound", "fedex", "ups", "usps", "dhl"),
    "media-and-entertainment": (
        "netflix", "hulu", "hbo", "disney", "espn", "spotify", "pandora", "cnn", "fox news", "nbc", "abc", "mtv",
    ),
    "finance": ("bank of america", "chase", "wells fargo", "citibank", "paypal", "visa", "mastercard", "amex"),
    "apparel": ("nike", "adidas", "under armour", "h&m", "zara", "gap", "old navy"),
    "hospitality": ("marriott", "hilton", "airbnb", "hotel", "expedia"),
}  # fmt: skip

# The support accounts of the customer-care corpora, by industry (airlines left out, as above).
SUPPORT_ACCOUNTS: dict[str, tuple[str, ...]] = {
    "technology": (
        "applesupport", "microsofthelps", "adobecare", "dropboxsupport", "azuresupport", "hpsupport", "google",
        "yahoocare", "zoom_us", "godaddyhelp", "neweggservice", "asurioncares",
    ),
    "gaming": ("askplaystation", "xboxsupport", "atviassist", "rockstarsupport", "mojangsupport", "jackbox"),
    "telecom": (
        "verizonsupport", "comcastcares", "tmobilehelp", "coxhelp", "ask_spectrum", "sprintcare", "airtel_care",
        "centurylinkhelp", "idea_cares", "boostcare", "glocare", "safaricom_care", "o2", "uscellularcares",
    ),
    "retail": (
        "amazonhelp", "marksandspencer", "tesco", "askebay", "sainsburys", "argoshelpers", "morrisons", "asktarget",
        "walmart", "nikesupport", "aldiuk",
    ),
    "food-and-drink": ("chipotletweets", "mcdonalds", "askpapajohns", "dunkindonuts", "askpanera", "postmates_help"),
    "transport": (
        "uber_support", "virgintrains", "nationalrailenq", "gwrhelp", "upshelp", "londonmidland", "tfl", "asklyft",
    ),
    "media-and-entertainment": ("spotifycares", "hulu_support", "teamyoutube"),
    "finance": ("bofa_help", "askpaypal", "askamex", "chasesupport", "ask_wellsfargo", "askciti"),
    "hospitality": ("kimpton", "airbnbhelp"),
}  # fmt: skip
ACCOUNT_INDUSTRY = {account: industry for industry, accounts in SUPPORT_ACCOUNTS.items() for account in accounts}

_PATTERNS = {
    industry: re.compile(r"(?<![\w@#])[@#]?(?:" + "|".join(re.escape(name) for name in names) + r")(?![\w&'-])", re.I)
    for industry, names in INDUSTRIES.items()
}


def industry_of(text: str) -> tuple[str, str] | None:
    """The first industry (in :data:`INDUSTRIES` order) whose company the text names, with the name matched."""
    for industry, pattern in _PATTERNS.items():
        found = pattern.search(text)
        if found:
            return industry, found.group(0).lstrip("@#").casefold()
    return None
