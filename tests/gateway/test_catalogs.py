"""The committed translation catalogs are complete, and their compiled files match them."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

CATALOGS = Path(settings.BASE_DIR) / "locale"
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', re.M)


def po_entries(path: Path) -> dict[str, str]:
    def text(lines: str) -> str:
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', lines)).encode().decode("unicode_escape").encode("latin-1").decode()

    return {text(msgid): text(msgstr) for msgid, msgstr in ENTRY.findall(path.read_text(encoding="utf-8")) if text(msgid)}


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES if code != "en"])
def test_every_message_is_translated_and_compiled(language):
    folder = CATALOGS / language / "LC_MESSAGES"
    source = folder / "django.po"
    entries = po_entries(source)
    with open(folder / "django.mo", "rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)

    assert "#, fuzzy" not in source.read_text(encoding="utf-8")
    assert len(entries) > 40
    assert [msgid for msgid, msgstr in entries.items() if not msgstr] == []
    assert {msgid: catalog.gettext(msgid) for msgid in entries} == entries
