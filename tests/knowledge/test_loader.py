from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bridge.knowledge.loader import TARGET_CHARS, load_folder
from bridge.knowledge.types import Passage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "help-center"


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def by_id(passages: list[Passage]) -> dict[str, Passage]:
    return {passage.id: passage for passage in passages}


ARTICLE = """---
title: Billing help
url: https://help.example.com/articles/billing
---

# Billing

All about paying for the product.

## Invoices

Download invoices from **Settings → Billing**.

### Company details

Add your VAT number under *Edit billing details*.

## Refunds

1. Open a [support ticket](https://example.com/support).
2. Mention the `invoice number`.

- Refunds take 5 days.
"""


def test_front_matter_title_and_heading_paths(tmp_path: Path) -> None:
    write(tmp_path, "billing.md", ARTICLE)
    passages = load_folder(tmp_path)

    assert [p.title_path for p in passages] == [
        ("Billing help",),
        ("Billing help", "Invoices"),
        ("Billing help", "Invoices", "Company details"),
        ("Billing help", "Refunds"),
    ]
    assert [p.id for p in passages] == [
        "billing.md#billing-help",
        "billing.md#invoices",
        "billing.md#invoices/company-details",
        "billing.md#refunds",
    ]
    assert all(p.source == "billing.md" for p in passages)
    assert passages[0].text == "All about paying for the product."


def test_markdown_markup_is_stripped_but_lists_kept(tmp_path: Path) -> None:
    write(tmp_path, "billing.md", ARTICLE)
    passages = by_id(load_folder(tmp_path))

    assert passages["billing.md#invoices"].text == "Download invoices from Settings → Billing."
    refunds = passages["billing.md#refunds"].text
    assert refunds.splitlines() == [
        "1. Open a support ticket.",
        "2. Mention the invoice number.",
        "",
        "- Refunds take 5 days.",
    ]
    assert "**" not in refunds and "](" not in refunds and "`" not in refunds


def test_url_anchors_from_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "billing.md", ARTICLE)
    passages = by_id(load_folder(tmp_path))

    base = "https://help.example.com/articles/billing"
    assert passages["billing.md#billing-help"].url == base
    assert passages["billing.md#invoices"].url == f"{base}#invoices"
    assert passages["billing.md#invoices/company-details"].url == f"{base}#company-details"


def test_url_from_base_url_and_none_without_one(tmp_path: Path) -> None:
    write(tmp_path, "guides/start here.md", "# Start\n\nWelcome.\n\n## First steps\n\nClick.\n")

    with_base = load_folder(tmp_path, base_url="https://docs.example.com/")
    assert [p.url for p in with_base] == [
        "https://docs.example.com/guides/start%20here.md",
        "https://docs.example.com/guides/start%20here.md#first-steps",
    ]
    assert all(p.url is None for p in load_folder(tmp_path))


def test_title_falls_back_to_first_h1_then_file_stem(tmp_path: Path) -> None:
    write(
        tmp_path, "a.md", "Intro before the title.\n\n# Real title\n\nBody.\n\n## Part\n\nMore.\n"
    )
    write(tmp_path, "no-heading.md", "Just text.\n")
    write(tmp_path, "faq.txt", "First paragraph.\n\nSecond paragraph.\n")
    passages = load_folder(tmp_path)

    titles = {p.id: p.title_path for p in passages}
    assert titles["a.md#real-title"] == ("Real title",)
    assert titles["a.md#part"] == ("Real title", "Part")
    assert titles["no-heading.md#no-heading"] == ("no-heading",)
    assert titles["faq.txt#faq"] == ("faq",)
    intro = by_id(passages)["a.md#real-title"].text
    assert intro == "Intro before the title.\n\nBody."
    assert by_id(passages)["faq.txt#faq"].text == "First paragraph.\n\nSecond paragraph."


def test_ids_are_unique_and_stable_with_duplicate_headings(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dup.md",
        "# Doc\n\n## Setup\n\nOne.\n\n## Setup\n\nTwo.\n\n## Setup\n\nThree.\n",
    )
    first = load_folder(tmp_path)
    second = load_folder(tmp_path)

    assert [p.id for p in first] == ["dup.md#setup", "dup.md#setup-2", "dup.md#setup-3"]
    assert [p.id for p in first] == [p.id for p in second]
    # Anchors follow the usual renderer numbering of repeated headings.
    assert [p.url for p in load_folder(tmp_path, base_url="https://x.test")] == [
        "https://x.test/dup.md#setup",
        "https://x.test/dup.md#setup-1",
        "https://x.test/dup.md#setup-2",
    ]


def test_empty_sections_are_dropped(tmp_path: Path) -> None:
    write(tmp_path, "doc.md", "# Doc\n\n## Empty\n\n## Parent\n\n### Child\n\nText.\n")
    passages = load_folder(tmp_path)
    assert [(p.id, p.title_path) for p in passages] == [
        ("doc.md#parent/child", ("Doc", "Parent", "Child"))
    ]


def test_long_sections_split_on_paragraphs(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {i} " + "lorem ipsum dolor sit amet " * 12 for i in range(12)]
    write(tmp_path, "long.md", "# Long\n\n## Details\n\n" + "\n\n".join(paragraphs) + "\n")
    passages = load_folder(tmp_path)

    assert len(passages) > 2
    assert all(p.title_path == ("Long", "Details") for p in passages)
    assert passages[0].id == "long.md#details"
    assert [p.id for p in passages[1:]] == [
        f"long.md#details-{n}" for n in range(2, len(passages) + 1)
    ]
    assert len({p.url for p in passages}) == 1
    assert all(len(p.text) <= TARGET_CHARS for p in passages)
    # Every paragraph survives intact, in order.
    rebuilt = "\n\n".join(p.text for p in passages)
    assert rebuilt == "\n\n".join(par.strip() for par in paragraphs)


def test_single_huge_paragraph_is_split_at_sentences(tmp_path: Path) -> None:
    text = " ".join(f"Sentence number {i} says something useful here." for i in range(80))
    write(tmp_path, "wall.txt", text)
    passages = load_folder(tmp_path)

    assert len(passages) > 1
    assert all(len(p.text) <= TARGET_CHARS for p in passages)
    assert all(p.text.endswith(".") for p in passages)
    assert len({p.id for p in passages}) == len(passages)


HTML = """<!doctype html>
<html><head><title>Sync guide | Example</title>
<link rel="canonical" href="https://help.example.com/sync">
<style>.x { color: red }</style><script>var tracking = "SECRET";</script></head>
<body>
<header><a href="/">Home</a> Site header</header>
<nav><ul><li>Menu item</li></ul></nav>
<main>
<h1>Sync your notes</h1>
<p>Notes sync <b>automatically</b>.<br>Usually within seconds.</p>
<!-- a comment that must not leak -->
<h2 id="fix-it">Fix sync problems</h2>
<ol><li>Check you are online.</li><li>Click <em>Sync now</em>.</li></ol>
<h3>Still stuck</h3>
<div><p>Contact support.</p></div>
<table><tr><th>Plan</th><th>Devices</th></tr><tr><td>Free</td><td>2</td></tr></table>
<script>alert("nope")</script>
</main>
<footer>Copyright footer</footer>
</body></html>
"""


def test_html_extraction_drops_chrome_and_splits_on_headings(tmp_path: Path) -> None:
    write(tmp_path, "sync.html", HTML)
    passages = load_folder(tmp_path)

    assert [p.title_path for p in passages] == [
        ("Sync your notes",),
        ("Sync your notes", "Fix sync problems"),
        ("Sync your notes", "Fix sync problems", "Still stuck"),
    ]
    assert passages[0].text == "Notes sync automatically.\nUsually within seconds."
    assert passages[1].text == "1. Check you are online.\n2. Click Sync now."
    assert passages[2].text == "Contact support.\n\nPlan | Devices\nFree | 2"
    everything = " ".join(p.text for p in passages)
    for leaked in ("SECRET", "nope", "Menu item", "Site header", "footer", "comment", "color"):
        assert leaked not in everything
    # The canonical link is the public URL; an explicit id attribute is the anchor.
    assert passages[0].url == "https://help.example.com/sync"
    assert passages[1].url == "https://help.example.com/sync#fix-it"
    assert passages[2].url == "https://help.example.com/sync#still-stuck"


def test_html_without_h1_uses_page_title(tmp_path: Path) -> None:
    write(tmp_path, "page.htm", "<title>Account</title><p>Hello there.</p>")
    [passage] = load_folder(tmp_path)
    assert passage.title_path == ("Account",)
    assert passage.id == "page.htm#account"


def test_bad_files_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "good.md", "# Good\n\nFine text.\n")
    write(tmp_path, "latin1.md", "# Caf\xe9\n\nna\xefve".encode("latin-1"))
    write(tmp_path, "binary.txt", b"\x00\x01\x02binary")
    write(tmp_path, "broken-front-matter.md", "---\ntitle: [unclosed\n---\n\nStill useful.\n")
    with caplog.at_level(logging.WARNING, logger="bridge.knowledge.loader"):
        passages = load_folder(tmp_path)

    sources = {p.source for p in passages}
    assert sources == {"good.md", "broken-front-matter.md"}
    assert by_id(passages)["broken-front-matter.md#broken-front-matter"].text == "Still useful."
    logged = caplog.text
    assert "latin1.md" in logged and "binary.txt" in logged


def test_hidden_and_unsupported_files_are_ignored_and_order_is_sorted(tmp_path: Path) -> None:
    write(tmp_path, "b.md", "B text.\n")
    write(tmp_path, "a/z.txt", "Z text.\n")
    write(tmp_path, "a/y.md", "Y text.\n")
    write(tmp_path, ".hidden.md", "Hidden.\n")
    write(tmp_path, ".git/notes.md", "Hidden folder.\n")
    write(tmp_path, "image.png", b"\x89PNG")
    write(tmp_path, "notes.rst", "Not supported.\n")

    assert [p.source for p in load_folder(tmp_path)] == ["a/y.md", "a/z.txt", "b.md"]


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        load_folder(tmp_path / "nope")


def test_example_help_center_loads_cleanly() -> None:
    passages = load_folder(EXAMPLES)
    sources = {p.source for p in passages}

    assert len(sources) >= 8
    assert len({p.id for p in passages}) == len(passages)
    assert all(p.text.strip() for p in passages)
    assert all(
        p.url and p.url.startswith("https://help.notebird.example/articles/") for p in passages
    )
    steps = by_id(passages)["reset-password.md#steps-to-reset-your-password"]
    assert steps.title_path == ("Reset your password", "Steps to reset your password")
    assert steps.text.startswith("1. Go to app.notebird.example/signin")
    assert "expires after 60 minutes" in steps.text


def test_raw_html_inside_markdown_is_reduced_to_text(tmp_path: Path) -> None:
    write(
        tmp_path,
        "mixed.md",
        '# Mixed\n\n<div class="note">Press <kbd>Ctrl</kbd>+<kbd>K</kbd> to search.</div>\n\n'
        "<script>track()</script>\n\nAfter.\n",
    )
    [passage] = load_folder(tmp_path)
    assert passage.text == "Press Ctrl+K to search.\n\nAfter."


def test_long_list_splits_between_items(tmp_path: Path) -> None:
    items = [f"- Item {i}: " + "detail " * 20 for i in range(20)]
    write(tmp_path, "list.md", "# List\n\n" + "\n".join(items) + "\n")
    passages = load_folder(tmp_path)

    assert len(passages) > 1
    lines = [line for p in passages for line in p.text.splitlines()]
    assert lines == [item.strip() for item in items]


def test_windows_line_endings(tmp_path: Path) -> None:
    write(tmp_path, "crlf.txt", b"First line\r\nsame paragraph.\r\n\r\nSecond.\r\n")
    write(tmp_path, "crlf.md", b"---\r\ntitle: CRLF\r\n---\r\n\r\n## Part\r\n\r\n- a\r\n- b\r\n")
    passages = by_id(load_folder(tmp_path))
    assert passages["crlf.txt#crlf"].text == "First line\nsame paragraph.\n\nSecond."
    assert passages["crlf.md#part"].title_path == ("CRLF", "Part")
    assert passages["crlf.md#part"].text == "- a\n- b"
