"""The regular expressions for links and @mentions, in one place.

Each reader of posts removes or replaces links and mentions for its own purpose; the variants differ on
purpose, and each is named by what it matches (changing one changes what a trained model saw, or which
posts count as the same):

* :data:`URL`: a link with a scheme or ``www.`` (any case).
* :data:`URL_OR_DOMAIN`: :data:`URL`, or a bare ``name.com/...`` path (the model's normaliser).
* :data:`HTTP_URL`: a link with an ``http(s)://`` scheme only (weak labelling rules, evaluation slices).
* :data:`MENTION`: a Twitter handle (1 to 30 word characters) that does not continue a word or an e-mail.
* :data:`MENTION_HANDLE`: the same at any length, with the handle captured (``findall`` gives handles).
* :data:`AT_WORD`: any ``@word``, inside e-mail addresses too (keys for matching a post across files).
* :data:`TAG_OR_HTTP_URL`: a hashtag, any ``@word`` or an :data:`HTTP_URL` (text without them).
"""

from __future__ import annotations

import re

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
URL_OR_DOMAIN = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|net|org|co|ly|io)/\S*", re.IGNORECASE)
HTTP_URL = re.compile(r"https?://\S+")
MENTION = re.compile(r"(?<![\w@])@\w{1,30}")
MENTION_HANDLE = re.compile(r"(?<![\w@])@(\w+)")
AT_WORD = re.compile(r"@\w+")
TAG_OR_HTTP_URL = re.compile(r"[#@]\w+|https?://\S+")
