"""The README's claims that a test can check: every option of every config group is in its group table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dltool.config import builtin_config_dir
from dltool.config.schemas import SCHEMAS

README = Path(__file__).resolve().parent.parent / "README.md"
GROUPS = sorted({p.name for p in builtin_config_dir().iterdir() if p.is_dir() and p.name != "hydra"} | set(SCHEMAS))


@pytest.mark.parametrize("group", GROUPS)
def test_the_group_table_lists_every_option(group: str) -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith(f"| `{group}` |")]
    assert len(rows) == 1, f"no row for {group} in the README's group table"
    listed = set(re.findall(r"`([\w.]+)`", rows[0].split("|")[2]))
    options = {p.stem for p in (builtin_config_dir() / group).glob("*.yaml")} | set(SCHEMAS.get(group, {}))
    assert options - listed == set()
