"""Every word a page shows is Indonesian: a real browser crawls every page reachable from each role's start
page (and an anonymous visitor's: the public results portal) on the demo data that ``make run`` seeds, and
the visible text of each is searched for English words, internal codes (``in_progress``, ``closes_at``) and
band codes where their names belong.

The words looked for are English words that are not also Indonesian, and the codes the service uses
internally; the few words a page may show in English (names of file types, of platforms) are allowed below.
"""

from __future__ import annotations

import re
import sqlite3
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.web.conftest import LiveServer, log_in, serve

pytestmark = pytest.mark.browser

# English words that are not Indonesian words too ("data", "status", "total", "format", "per", "no." and
# "edit" are). Lower case; a page is checked word by word.
ENGLISH = frozenset(
    """
    a about above accept accepted account action active add added after again all allowed already also an and
    answer answered answers any apply approve approved are as assigned at available back be been before below
    body both but by can cancel cannot category change changed check checked choose click close closed
    complete completed confirm confirmation could create created current date deadline delete denied detail
    details did do does done download draft due each edit empty enter error errors evidence expired failed
    false field file files fill filled final find first for forbidden found from gate get go has have here how
    if in incomplete internal invalid is it its last later left less list load loading log login logout
    may missing more most must my name new next no none not nothing now of on once one only open or other our
    out over page password pending please previous progress publish published question questions rank read
    ready reason reject rejected release released reopen reopened required result results review reviewed
    round rounds save saved score scores search see select send sent should show sign since some sorry stage
    start started step still submit submitted success than that the their them then there these they this
    to too try under unknown until up update updated upload uploaded use user value verification verified
    verify view waiting was we were what when where which while will with without yes you your
    """.split()  # noqa: SIM905 - a word list reads better as words than as a list of strings
)
# Words of ENGLISH a page may show: names of file formats, systems, laws and licenses, and words of the
# question texts written that way by the commissions ("go": the go.id domain of government websites; "by",
# "open": the open-data licenses' names, "CC BY 4.0", "Open Data Commons").
ALLOWED = frozenset({"go", "by", "open"})
# Internal codes: snake_case names, and band codes (lower case with a hyphen) shown instead of their labels.
SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
BAND_CODE = re.compile(r"\b(?:tidak|kurang|cukup|menuju)-(?:informatif|mengikuti)\b")
WORD = re.compile(r"[A-Za-z][A-Za-z']*")
# Addresses are not words: links (whose random tokens may spell anything), e-mail addresses, Message-IDs.
URL = re.compile(r"https?://\S+|\S+@\S+")
# Names are not words either: the licenses the open data is under ("CC BY 4.0").
LICENSE = re.compile(r"\bCC BY(?:-SA)?\b")
# Not pages: signing out, files and workbooks, the machine endpoints.
SKIP = re.compile(
    r"^/(?:logout|berkas/|static/|api/|web/|docs|redoc|openapi\.json|healthz|readyz)|\.(?:xlsx|zip|pdf|csv)$|/unduh"
)
MAX_PAGES_PER_ACCOUNT = 80


def english_in(text: str) -> list[str]:
    """The English words, internal codes and raw band codes in a page's visible text (addresses left out)."""
    text = LICENSE.sub(" ", URL.sub(" ", text))
    codes = SNAKE_CASE.findall(text) + BAND_CODE.findall(text)
    words = WORD.findall(BAND_CODE.sub(" ", SNAKE_CASE.sub(" ", text)))
    return [w for w in words if w.lower() in ENGLISH and w.lower() not in ALLOWED] + codes


def test_the_word_check_finds_english_and_codes_and_leaves_indonesian_alone() -> None:
    assert english_in("Verifikasi selesai. Data dukung sudah diperiksa. Nilai total 85,50.") == []
    assert english_in("Status: verification not completed") == ["verification", "not", "completed"]
    assert english_in("Batas: closes_at 2025") == ["closes_at"]
    assert english_in("Kualifikasi tidak-informatif") == ["tidak-informatif"]
    assert english_in("Kualifikasi Tidak Informatif") == []
    assert english_in("Lisensi: Creative Commons Atribusi 4.0 Internasional (CC BY 4.0)") == []
    assert english_in("Buka https://emonev.example/atur-kata-sandi?token=12.a-be-the-key") == []


@pytest.fixture(scope="module")
def demo_server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``emonev serve`` on a new SQLite file with the demo data, as ``make run`` starts it."""
    root = tmp_path_factory.mktemp("demo")
    settings = {"EMONEV_ENVIRONMENT": "development", "EMONEV_DEMO_DATA": "true"}
    with serve(root, settings, prepare=[["db", "upgrade"], ["templates", "import"]]) as server:
        yield server


def demo_accounts(server: LiveServer) -> dict[str, list[str]]:
    """Up to two demo accounts of each role, read from the server's own database."""
    database = Path(server.log).parent / "web.sqlite3"
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT role, email FROM account WHERE active ORDER BY role, id").fetchall()
    accounts: dict[str, list[str]] = {}
    for role, email in rows:
        if len(accounts.setdefault(role, [])) < 2:
            accounts[role].append(email)
    return accounts


def crawl(page: Page, base: str) -> Iterator[tuple[str, str]]:
    """Every page reachable by links from the start page: (path, visible text)."""
    seen: set[str] = set()
    queue = deque(["/"])
    while queue and len(seen) < MAX_PAGES_PER_ACCOUNT:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(base + path)
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        yield path, page.inner_text("body")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            url = urlsplit(urldefrag(href)[0])
            if f"{url.scheme}://{url.netloc}" != base:
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if target not in seen and not SKIP.search(url.path):
                queue.append(target)


def test_every_page_each_role_reaches_on_the_demo_data_is_in_indonesian(
    browser: Browser, demo_server: LiveServer
) -> None:
    accounts = demo_accounts(demo_server)
    assert {"operator", "verifier", "commission_admin", "system_admin"} <= accounts.keys()
    findings: list[str] = []
    visited = 0
    # An anonymous visitor: the public results portal, from its home at "/".
    context = browser.new_context(base_url=demo_server.url, locale="id-ID")
    page = context.new_page()
    portal = 0
    for path, text in crawl(page, demo_server.url):
        visited += 1
        portal += path.startswith("/hasil/")
        words = english_in(text)
        if words:
            findings.append(f"anonymous {path}: {', '.join(dict.fromkeys(words))}")
    context.close()
    assert portal > 10, f"only {portal} portal pages were reached"
    for role, emails in accounts.items():
        for email in emails:
            context = browser.new_context(base_url=demo_server.url, locale="id-ID")
            page = context.new_page()
            log_in(page, email)
            for path, text in crawl(page, demo_server.url):
                visited += 1
                words = english_in(text)
                if words:
                    findings.append(f"{role} {email} {path}: {', '.join(dict.fromkeys(words))}")
            context.close()
    assert visited > 20, f"only {visited} pages were reached"
    assert not findings, "English or internal codes on pages:\n" + "\n".join(findings)
