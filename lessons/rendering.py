"""Markdown -> sanitised HTML, once, at import. Cross-topic references become links or markers."""

from __future__ import annotations

import re
from collections.abc import Mapping

import markdown
import nh3
from django.utils.html import escape

# "covered in depth in the tcp and udp topics", "detailed in http", "explored in rest", "see rpc and grpc",
# "compared in long-polling-websockets-sse", "see the long-polling-websockets-sse topic". Topic keys are
# lower-case file stems, so "see REST" or "covered in Kafka" never match.
_KEY = r"[a-z0-9]+(?:-[a-z0-9]+)*"
REFERENCE_RE = re.compile(
    rf"\b(?P<verb>(?i:covered in depth in|covered in|detailed in|explored in|compared in|discussed in|described in|see))"
    rf"\s+(?P<the>the\s+)?(?P<keys>{_KEY}(?:(?:,\s*|\s+and\s+|\s+or\s+){_KEY})*)(?P<suffix>\s+topics?)?"
    rf"(?=[.,;:)]|$)"
)
KEY_SPLIT_RE = re.compile(rf"{_KEY}|[^a-z0-9]+")
NOT_WORDS = frozenset({"and", "or", "the", "topic", "topics"})
# "see below.", "covered in detail." are prose, not topic keys.
PROSE_WORDS = frozenset(
    [
        "above",
        "below",
        "later",
        "earlier",
        "here",
        "there",
        "also",
        "again",
        "more",
        "detail",
        "details",
        "depth",
        "practice",
        "part",
        "parts",
        "chapter",
        "section",
        "sections",
        "figure",
        "table",
        "appendix",
        "it",
        "this",
        "that",
        "these",
        "those",
        "them",
        "which",
        "what",
        "why",
        "how",
        "above-mentioned",
    ]
)


def _is_reference(match: re.Match[str]) -> bool:
    return not any(token in PROSE_WORDS for token in re.findall(_KEY, match["keys"]))


CLEANER = nh3.Cleaner(
    tags={
        "p", "br", "hr", "a", "abbr", "b", "strong", "i", "em", "code", "pre", "kbd", "samp", "sub", "sup", "mark",
        "del", "ins", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td", "caption", "span", "div", "small",
    },
    attributes={
        "a": {"href", "title", "class"},
        "small": {"class"},
        "abbr": {"title"},
        "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
        "pre": {"class"}, "code": {"class"}, "span": {"class"}, "div": {"class"},
        "th": {"align"}, "td": {"align"},
    },
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
)  # fmt: skip
EXTENSIONS = ["fenced_code", "codehilite", "toc", "tables", "sane_lists"]
EXTENSION_CONFIGS = {
    "codehilite": {"css_class": "codehilite", "guess_lang": False},
    "toc": {"permalink": False, "baselevel": 3},  # section headings are h2; inline headings sit below
}


def references(text: str) -> list[str]:
    """Topic keys referred to in the text, in order."""
    keys: list[str] = []
    for match in REFERENCE_RE.finditer(text):
        if not _is_reference(match):
            continue
        for token in re.findall(_KEY, match["keys"]):
            if token not in NOT_WORDS and token not in keys:
                keys.append(token)
    return keys


def _link_references(text: str, topic_urls: Mapping[str, str]) -> str:
    """Replace each referenced key with a link (imported topic) or a visible marker (not yet)."""

    def replace(match: re.Match[str]) -> str:
        if not _is_reference(match):
            return match.group()
        keys = []
        for token in KEY_SPLIT_RE.findall(match["keys"]):
            if not re.fullmatch(_KEY, token) or token in NOT_WORDS:
                keys.append(token)
            elif token in topic_urls:
                keys.append(f'<a class="topic-ref" href="{escape(topic_urls[token])}">{escape(token)}</a>')
            else:
                keys.append(
                    f'<span class="topic-ref topic-ref-missing">{escape(token)} '
                    f'<small class="badge">not in this course yet</small></span>'
                )
        return f"{match['verb']} {match['the'] or ''}{''.join(keys)}{match['suffix'] or ''}"

    return REFERENCE_RE.sub(replace, text)


def markdown_render(source: str, *, topic_urls: Mapping[str, str] | None = None) -> str:
    """Sanitised HTML for a section's markdown source."""
    if topic_urls is not None:
        source = _link_references(source, topic_urls)
    html = markdown.markdown(source, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)
    return CLEANER.clean(html)
