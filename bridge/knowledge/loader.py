"""Turn a folder of help articles (Markdown, HTML, plain text) into heading-sized passages.

Passages are what retrieval ranks and what answers cite, so they follow the author's own
structure (one passage per heading section) and carry ids that survive rebuilds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import yaml
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bridge.knowledge.text import slugify
from bridge.knowledge.types import Passage

logger = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
TEXT_SUFFIXES = frozenset({".txt"})
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | HTML_SUFFIXES | TEXT_SUFFIXES

# Long enough to hold a full procedure, short enough that a passage stays about one thing and
# an answer built from it stays readable.
TARGET_CHARS = 1200

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=\S)")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str
    anchor: str | None = None  # an explicit anchor (HTML id attribute) beats a computed slug


@dataclass(frozen=True)
class _Block:
    text: str


_Event = _Heading | _Block


@dataclass
class _Document:
    relative_path: str
    events: list[_Event]
    fallback_title: str
    title: str | None = None  # from front matter: wins over any heading
    url: str | None = None


@dataclass
class _Section:
    headings: tuple[str, ...]  # below the document title
    anchor: str | None
    blocks: list[str] = field(default_factory=list)


def load_folder(root: Path, base_url: str | None = None) -> list[Passage]:
    """Load every supported file under ``root`` (recursively) as passages.

    Files are visited in sorted order so ids and passage order do not depend on the file
    system. Hidden files and folders are skipped; files that cannot be read or parsed are
    logged and skipped so one bad file never prevents the rest from loading.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")

    passages: list[Passage] = []
    for path, relative in iter_files(root):
        try:
            passages.extend(load_file(path, relative, base_url))
        except Exception as exc:
            logger.warning("skipping %s: %s", relative, exc)
    return passages


def iter_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Supported, non-hidden files under ``root`` with their POSIX relative paths, sorted."""
    found: list[tuple[str, Path]] = []
    for path in Path(root).rglob("*"):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file():
            found.append((relative.as_posix(), path))
    for relative_posix, path in sorted(found):
        yield path, relative_posix


def load_file(path: Path, relative: str, base_url: str | None = None) -> list[Passage]:
    """The passages of one file; empty when it cannot be read (the reason is logged)."""
    document = _read_document(path, relative, base_url)
    return _to_passages(document) if document is not None else []


def html_passages(
    root: Tag,
    *,
    key: str,
    url: str | None,
    title: str | None = None,
    fallback_title: str = "",
) -> list[Passage]:
    """Passages of an already-cleaned HTML tree (a crawled page's main content, an article).

    ``key`` names the document in passage ids and ``source``; ``url`` is the public link that
    citations point at, with each section's anchor appended. ``title`` wins over the page's
    first H1, which wins over ``fallback_title``.
    """
    # Only what is never text is dropped here: the caller decided what the content is, and a
    # <header> inside an article holds the article's own title.
    for tag in root.find_all(_HTML_NEVER_TEXT):
        tag.decompose()
    events = _HtmlWalker().walk(root)
    document = _Document(key, events, fallback_title or key, title=title, url=url)
    return _to_passages(document)


def _read_text(path: Path, relative: str) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        logger.warning("skipping %s: cannot read (%s)", relative, exc)
        return None
    if b"\x00" in data:
        logger.warning("skipping %s: looks like a binary file", relative)
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        logger.warning("skipping %s: not valid UTF-8 (%s)", relative, exc)
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_document(path: Path, relative: str, base_url: str | None) -> _Document | None:
    text = _read_text(path, relative)
    if text is None:
        return None
    suffix = path.suffix.lower()
    fallback_url = _join_url(base_url, relative) if base_url else None

    if suffix in MARKDOWN_SUFFIXES:
        meta, body = _split_front_matter(text, relative)
        document = _Document(relative, _markdown_events(body), path.stem)
        document.title = _meta_str(meta, "title")
        document.url = _meta_str(meta, "url") or fallback_url
    elif suffix in HTML_SUFFIXES:
        document = _html_document(text, relative, path.stem)
        document.url = document.url or fallback_url
    else:
        blocks = [_Block(part.strip()) for part in re.split(r"\n\s*\n", text) if part.strip()]
        document = _Document(relative, list(blocks), path.stem, url=fallback_url)
    return document


def _join_url(base_url: str, relative: str) -> str:
    return base_url.rstrip("/") + "/" + quote(relative)


def _meta_str(meta: dict[str, object], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _split_front_matter(text: str, relative: str) -> tuple[dict[str, object], str]:
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    body = text[match.end() :]
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        # The article itself is still useful without its metadata.
        logger.warning("%s: ignoring unreadable front matter (%s)", relative, exc)
        return {}, body
    if not isinstance(meta, dict):
        return {}, body
    return {str(key): value for key, value in meta.items()}, body


# --- Markdown -------------------------------------------------------------------------------

_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)  # the alt text is the readable part of an image
    lines = (_SPACE_RE.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _markdown_events(body: str) -> list[_Event]:
    events: list[_Event] = []
    tokens = _MARKDOWN.parse(body)
    lists: list[list[int]] = []  # one counter per open list; -1 marks a bullet list
    list_lines: list[str] = []
    item_prefix: str | None = None  # set until the first paragraph of a list item is written
    row: list[str] = []
    table_lines: list[str] = []
    in_cell = False

    def item_line(text: str) -> None:
        nonlocal item_prefix
        indent = "  " * (len(lists) - 1)
        lines = text.split("\n")
        if item_prefix is not None:
            first, rest = item_prefix + lines[0], lines[1:]
            item_prefix = None
        else:
            first, rest = indent + "  " + lines[0], lines[1:]
        list_lines.append(first)
        list_lines.extend(indent + "  " + line for line in rest)

    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if kind == "heading_open":
            text = _inline_text(tokens[i + 1]) if i + 1 < len(tokens) else ""
            events.append(_Heading(int(token.tag[1:]), text.replace("\n", " ")))
            i += 3
            continue
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = token.attrs.get("start", 1) if kind == "ordered_list_open" else -1
            lists.append([int(start) if start is not None else 1])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists and list_lines:
                events.append(_Block("\n".join(list_lines)))
                list_lines = []
        elif kind == "list_item_open":
            counter = lists[-1]
            indent = "  " * (len(lists) - 1)
            if counter[0] < 0:
                item_prefix = indent + "- "
            else:
                number = token.info if token.info.isdigit() else str(counter[0])
                item_prefix = f"{indent}{number}. "
                counter[0] = int(number) + 1
        elif kind == "list_item_close":
            item_prefix = None  # an item with no text carries nothing worth keeping
        elif kind == "inline":
            text = _inline_text(token)
            if in_cell:
                row.append(text.replace("\n", " "))
            elif text and lists:
                item_line(text)
            elif text:
                events.append(_Block(text))
        elif kind in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            if code.strip():
                if lists:
                    item_line(code)
                else:
                    events.append(_Block(code))
        elif kind == "html_block":
            fragment = BeautifulSoup(token.content, "html.parser")
            for tag in fragment.find_all(_HTML_DROP):
                tag.decompose()
            text = _flat_text(fragment)
            if text:
                events.append(_Block(text))
        elif kind in ("th_open", "td_open"):
            in_cell = True
        elif kind in ("th_close", "td_close"):
            in_cell = False
        elif kind == "tr_close":
            if any(row):
                table_lines.append(" | ".join(row))
            row = []
        elif kind == "table_close":
            if table_lines:
                events.append(_Block("\n".join(table_lines)))
            table_lines = []
        i += 1
    return events


# --- HTML -----------------------------------------------------------------------------------

_HTML_DROP = frozenset(
    {"script", "style", "nav", "header", "footer", "noscript", "template", "svg", "head"}
)
_HTML_NEVER_TEXT = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
_HTML_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "form", "h5", "h6",
        "hr", "html", "li", "main", "p", "section", "summary", "tbody", "td", "tfoot", "th",
        "thead",
    }
)  # fmt: skip


def _html_document(html: str, relative: str, stem: str) -> _Document:
    soup = BeautifulSoup(html, "html.parser")
    page_title = _flat_text(soup.title) if soup.title else ""
    canonical = None
    for link in soup.find_all("link"):
        rel = link.get("rel") or []
        href = link.get("href")
        if "canonical" in rel and isinstance(href, str) and href.startswith(("http:", "https:")):
            canonical = href
            break

    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    events = _HtmlWalker().walk(soup)
    return _Document(relative, events, page_title or stem, url=canonical)


def _flat_text(node: Tag) -> str:
    """Text of an element on one line, with spaces only where the layout implies them."""
    parts: list[str] = []
    for child in node.descendants:
        if isinstance(child, PreformattedString):
            continue
        if isinstance(child, NavigableString):
            parts.append(str(child))
        elif isinstance(child, Tag) and (
            child.name in _HTML_BLOCKS or child.name in ("br", "li", "ul", "ol", "pre")
        ):
            parts.append(" ")  # get_text(" ") would also split "<b>Sync</b>." into "Sync ."
    return _SPACE_RE.sub(" ", "".join(parts)).strip()


class _HtmlWalker:
    """Flatten an HTML tree into headings and text blocks in document order."""

    def __init__(self) -> None:
        self.events: list[_Event] = []
        self.buffer: list[str] = []

    def walk(self, root: Tag) -> list[_Event]:
        self._visit(root)
        self._flush()
        return self.events

    def _flush(self) -> None:
        text = "".join(self.buffer)
        self.buffer = []
        lines = (line.strip() for line in text.split("\n"))
        joined = "\n".join(line for line in lines if line)
        if joined:
            self.events.append(_Block(joined))

    def _visit(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, PreformattedString):
                continue  # comments, doctype, CDATA
            if isinstance(child, NavigableString):
                self.buffer.append(_SPACE_RE.sub(" ", str(child)))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name in _HTML_HEADINGS:
                self._flush()
                text = _flat_text(child)
                anchor = child.get("id")
                self.events.append(
                    _Heading(
                        _HTML_HEADINGS[name], text, anchor if isinstance(anchor, str) else None
                    )
                )
            elif name in ("ul", "ol"):
                self._flush()
                self._list(child)
            elif name == "table":
                self._flush()
                self._table(child)
            elif name == "pre":
                self._flush()
                code = child.get_text().strip("\n")
                if code.strip():
                    self.events.append(_Block(code))
            elif name == "br":
                self.buffer.append("\n")
            elif name in _HTML_BLOCKS:
                self._flush()
                self._visit(child)
                self._flush()
            else:
                self._visit(child)

    def _list(self, node: Tag) -> None:
        ordered = node.name.lower() == "ol"
        start = node.get("start")
        number = int(start) if isinstance(start, str) and start.isdigit() else 1
        lines: list[str] = []
        for item in node.find_all("li", recursive=False):
            text = _flat_text(item)
            if not text:
                continue
            lines.append(f"{number}. {text}" if ordered else f"- {text}")
            number += 1
        if lines:
            self.events.append(_Block("\n".join(lines)))

    def _table(self, node: Tag) -> None:
        lines: list[str] = []
        for row in node.find_all("tr"):
            cells = [_flat_text(cell) for cell in row.find_all(["td", "th"])]
            if any(cells):
                lines.append(" | ".join(cells))
        if lines:
            self.events.append(_Block("\n".join(lines)))


# --- Sections and passages ------------------------------------------------------------------


def _sections(document: _Document) -> tuple[str, list[_Section]]:
    """Group blocks under their heading path and settle the document title."""
    title = document.title
    sections = [_Section((), None)]
    stack: list[_Heading] = []
    first_heading = True
    for event in document.events:
        if isinstance(event, _Block):
            sections[-1].blocks.append(event.text)
            continue
        if not event.text:
            continue  # an empty heading names nothing; its text stays with the section above
        if first_heading and event.level == 1:
            # The page's own H1 names the document rather than a section of it.
            first_heading = False
            title = title or event.text or None
            continue
        first_heading = False
        while stack and stack[-1].level >= event.level:
            stack.pop()
        stack.append(event)
        headings = tuple(heading.text for heading in stack)
        sections.append(_Section(headings, event.anchor))
    return (title or document.fallback_title), sections


def _to_passages(document: _Document) -> list[Passage]:
    title, sections = _sections(document)
    used_ids: set[str] = set()
    used_anchors: dict[str, int] = {}
    passages: list[Passage] = []

    def unique_id(base: str) -> str:
        candidate, n = base, 1
        while candidate in used_ids:
            n += 1
            candidate = f"{base}-{n}"
        used_ids.add(candidate)
        return candidate

    for section in sections:
        anchor = None
        if section.headings:
            # Renderers number repeated heading anchors, so the link must follow suit
            # even when the earlier section was empty and produced no passage.
            anchor = section.anchor or _numbered_anchor(section.headings[-1], used_anchors)
        chunks = _split_long("\n\n".join(section.blocks).strip())
        if not chunks:
            continue
        path_slug = "/".join(slugify(h) or "section" for h in section.headings)
        base_id = f"{document.relative_path}#{path_slug or slugify(title) or 'top'}"
        url = None
        if document.url:
            url = f"{document.url}#{anchor}" if anchor else document.url
        title_path = (title, *section.headings)
        first_id = unique_id(base_id)
        for index, chunk in enumerate(chunks):
            passage_id = first_id if index == 0 else unique_id(f"{first_id}-{index + 1}")
            passages.append(
                Passage(
                    id=passage_id,
                    title_path=title_path,
                    text=chunk,
                    source=document.relative_path,
                    url=url,
                )
            )
    return passages


def _numbered_anchor(heading: str, used: dict[str, int]) -> str | None:
    slug = slugify(heading)
    if not slug:
        return None
    count = used.get(slug, 0)
    used[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def _split_long(text: str, target: int = TARGET_CHARS) -> list[str]:
    """Split on paragraph boundaries into pieces of roughly ``target`` characters."""
    if not text:
        return []
    if len(text) <= target:
        return [text]
    pieces: list[str] = []
    for paragraph in re.split(r"\n{2,}", text):
        pieces.extend(_split_paragraph(paragraph.strip(), target))

    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if not piece:
            continue
        if current and len(current) + 2 + len(piece) > target:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _split_paragraph(paragraph: str, target: int) -> list[str]:
    """Break one oversized paragraph at line ends, and overlong lines at sentence ends."""
    if len(paragraph) <= target:
        return [paragraph]
    # Each unit remembers what joined it to the one before, so line structure (list items,
    # code) survives and only the cuts themselves change.
    units: list[tuple[str, str]] = []
    for line in paragraph.split("\n"):
        sentences = _SENTENCE_END_RE.split(line) if len(line) > target else [line]
        units.extend(("\n" if j == 0 else " ", sentence) for j, sentence in enumerate(sentences))
    pieces: list[str] = []
    current = ""
    for separator, unit in units:
        if current and len(current) + 1 + len(unit) > target:
            pieces.append(current)
            current = unit
        else:
            current = f"{current}{separator}{unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces
