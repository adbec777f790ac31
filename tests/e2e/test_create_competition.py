"""In a real Chromium: an organizer creates MIDST's black-box single-table competition from its
shipped definition and a zip of its released labels, from the home page's link: a definition
with a wrong field is refused naming the file and the field, the preview shows what was found,
Create lands on the new competition's page. Another is created from MIDST's Codabench bundle.
Screenshots at 1280 and 390 px."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tests.competitions.test_creation_bundle import midst_bundle
from tests.fixtures.browser import PASSWORD
from tests.fixtures.live import ORGANIZER, screenshot
from tests.fixtures.midst import BLACK_SINGLE, DEFINITIONS, TRACKS, needs_data, truth_zip

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = needs_data
NewPage = Callable[[], "Page"]
TRACK = TRACKS[BLACK_SINGLE][0]


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The definition, one with a wrong ranking, and the truth zip, as files to choose."""
    definition = tmp_path / "midst-blackbox-single.yaml"
    text = (DEFINITIONS / f"{BLACK_SINGLE}.yaml").read_text()
    definition.write_text(text)
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("ranking: max", "ranking: median"))
    truth = tmp_path / "midst-data.zip"
    truth.write_bytes(truth_zip(BLACK_SINGLE))
    return definition, broken, truth


def test_an_organizer_creates_midst_in_the_browser(new_page: NewPage, tmp_path: Path) -> None:
    definition, broken, truth = _files(tmp_path)
    page = new_page()
    page.goto("/login")
    page.fill("#email", ORGANIZER)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/account")
    page.goto("/")
    screenshot(page, "home-organizer")
    page.click("#new-competition")
    page.wait_for_url("**/competitions/new")
    screenshot(page, "competition-new")

    page.set_input_files("#definition", str(broken))
    page.set_input_files("#truth", str(truth))
    page.click("#preview")
    page.wait_for_selector("#problem-summary")
    assert page.inner_text("#problem-summary").startswith("broken.yaml: tracks[0].ranking")
    assert page.locator("#create-competition").count() == 0
    screenshot(page, "competition-new-refused")

    page.set_input_files("#definition", str(definition))  # the zip is kept from the last try
    assert "midst-data.zip" in page.inner_text("#kept-truth")
    page.fill("#slug", "midst-bb")
    page.click("#preview")
    page.wait_for_selector("#preview-found")
    found = page.inner_text(f"#found-{TRACK}-tabsyn_black_box")
    assert "optional" in found and "4,000" in found and "20" in found
    assert "opens now" in page.inner_text("#found-phases")
    screenshot(page, "competition-new-preview")

    page.click("#create-competition")
    page.wait_for_url("**/competitions/midst-bb")
    assert "MIDST: black box, single table is created" in page.inner_text(".flash")
    assert "MIDST: black box, single table" in page.inner_text("h1")
    screenshot(page, "competition-created")


def test_an_organizer_creates_midst_from_its_bundle_in_the_browser(
    new_page: NewPage, tmp_path: Path
) -> None:
    """MIDST's Codabench bundle, chosen as a file in the page's second form: the preview says
    what it maps to, its pages and its phases' dates; Create lands on the new competition's
    page, which shows the bundle's overview."""
    bundle = tmp_path / "midst_blackbox_single_table.zip"
    bundle.write_bytes(midst_bundle())
    page = new_page()
    page.goto("/login")
    page.fill("#email", ORGANIZER)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/account")
    page.goto("/competitions/new")

    page.set_input_files("#bundle", str(bundle))
    page.fill("#bundle-slug", "midst-from-bundle")
    page.click("#preview-bundle")
    page.wait_for_selector("#preview-found")
    mapping = page.inner_text("#bundle-mapping")
    assert mapping.startswith("midst_blackbox_single_table.zip maps to definitions/"), mapping
    pages = page.inner_text("#bundle-pages")
    assert "Overview: Overview" in pages and "Terms:" in pages, pages
    phases = page.inner_text("#found-phases")
    assert "Black Box Dev Phase" in phases and "open now" in phases and "UTC" in phases
    assert "optional" in page.inner_text(f"#found-{TRACK}-tabsyn_black_box")
    assert "midst_blackbox_single_table.zip" in page.inner_text("#kept-bundle")
    screenshot(page, "competition-new-bundle-preview")

    page.click("#create-from-bundle")
    page.wait_for_url("**/competitions/midst-from-bundle")
    notice = page.inner_text(".flash")
    assert notice.startswith("MIDST - Black Box Single Table Competition is created from "), notice
    assert "Black Box Dev Phase takes uploads" in notice
    assert "Membership inference over synthetic tables." in page.inner_text("main")
    screenshot(page, "competition-created-from-bundle")
