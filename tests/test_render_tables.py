"""The generated benchmark tables: deterministic, complete, and in step with the CSVs."""

from __future__ import annotations

import pytest

from benchmarks import render_tables as rt


def test_every_registered_table_reads_its_csv_and_columns():
    assert rt.TABLES, "the registry is empty"
    names = [t.name for t in rt.TABLES]
    assert len(names) == len(set(names)), f"duplicate table names: {names}"
    for t in rt.TABLES:
        csv_rows = rt.read_csv(rt.RESULTS / t.csv)
        assert csv_rows, f"{t.csv} has no rows"
        rows = t.rows(csv_rows) if t.rows else csv_rows
        for spec in rt.present_columns(rows, list(t.columns) + list(t.headline_columns or [])):
            key = rt._parse_column(spec).key
            missing = [i for i, r in enumerate(rows) if key not in r]
            assert not missing, f"table {t.name}: column {key!r} missing in rows {missing[:5]}"
        assert rt._select(rows, t.headline), f"table {t.name}: the headline selects no row"


def test_rendering_is_deterministic():
    readme = rt.README.read_text(encoding="utf-8")
    assert rt.render_docs() == rt.render_docs()
    assert rt.render_readme(readme) == rt.render_readme(readme)


def test_docs_page_is_up_to_date():
    assert rt.DOCS_PAGE.read_text(encoding="utf-8") == rt.render_docs(), (
        "docs/benchmarks.md differs from the CSVs: run python benchmarks/render_tables.py"
    )


def test_readme_blocks_are_up_to_date():
    readme = rt.README.read_text(encoding="utf-8")
    blocks = rt.readme_blocks(readme)
    assert blocks, "README.md has no generated table block"
    rendered = rt.readme_blocks(rt.render_readme(readme))
    for name, body in blocks.items():
        assert body == rendered[name], (
            f"README block table:{name} differs from its CSV: run python benchmarks/render_tables.py"
        )


def test_a_hand_edited_block_is_detected():
    readme = rt.README.read_text(encoding="utf-8")
    name, body = next(iter(rt.readme_blocks(readme).items()))
    row = body.splitlines()[2]  # the first data row, under the header and the rule
    assert row.startswith("| ")
    edited_row = row.replace("| ", "| 9", 1)
    edited = readme.replace(row, edited_row, 1)
    assert edited != readme
    assert rt.readme_blocks(edited)[name] != rt.readme_blocks(rt.render_readme(edited))[name]
    assert rt.render_readme(edited) == rt.render_readme(readme)


def test_provenance_columns_are_reported(tmp_path):
    (tmp_path / "a.csv").write_text("x,y,version,commit,date\n1,2.5,0.1.0,abc1234,2026-01-02\n")
    (tmp_path / "b.csv").write_text("x,y\n1,2.5\n")
    ta = rt.Table("a", "a.csv", "A", "python a.py", columns=("x|g", "y|.2f|Y"))
    tb = rt.Table("b", "b.csv", "B", "python b.py", columns=("x|g", "y|.2f|Y"), recorded="see log")
    page = rt.render_docs([ta, tb], results=tmp_path)
    assert "version 0.1.0; commit abc1234; date 2026-01-02" in page
    assert "version, commit and date not recorded (see log)" in page
    assert "| 1 | 2.50 |" in page
    block = rt.render_headline(ta, results=tmp_path)
    assert "Command: `python a.py`" in block and "docs/benchmarks.md#a" in block


def test_unknown_block_name_is_refused(tmp_path):
    text = "<!-- table:nope -->\nold\n<!-- /table:nope -->\n"
    with pytest.raises(ValueError, match="nope"):
        rt.render_readme(text)


def test_bad_column_spec_is_refused():
    with pytest.raises(ValueError, match="csv_column"):
        rt._parse_column("a|b|c|d")


def test_nan_and_text_cells():
    table = rt.markdown_table([{"a": "nan", "b": "x|y"}], ("a|.2f", "b"))
    assert table.splitlines()[2] == "| – | x\\|y |"


def test_optional_columns_and_command_from_markdown(tmp_path):
    (tmp_path / "c.csv").write_text("x,y\n1,2\n")
    (tmp_path / "c.md").write_text("Command: `OMP_NUM_THREADS=1 python c.py --n  3` (run)\n")
    table = rt.Table("c", "c.csv", "C", None, columns=("x|g", "z?|g|Z", "y|g"))
    page = rt.render_docs([table], results=tmp_path)
    assert "Command: `OMP_NUM_THREADS=1 python c.py --n 3`" in page
    assert "| x | y |" in page and "Z" not in page.split("## C")[1]
    (tmp_path / "c.md").write_text("no command here\n")
    with pytest.raises(ValueError, match="names no"):
        rt.render_docs([table], results=tmp_path)
