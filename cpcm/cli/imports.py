"""cpcm import cases / import template: a children's home's register in, one case a row."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cpcm.cli.common import IdentityOpt, JsonOpt, RepoOpt, open_ctx, print_json, read_yaml_input, say, warn, with_progress


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Bring an existing register in: one case a row of a spreadsheet or CSV file.", no_args_is_help=True)
    app.add_typer(group, name="import")

    @group.command("cases")
    def cases(
        file: Path = typer.Argument(..., help="The register: .xlsx, .ods, .xls or .csv, headings on the first line."),
        mapping: Optional[Path] = typer.Option(None, "--mapping", "-m", help="Which column holds which field (cpcm import template writes one)."),
        sheet: Optional[str] = typer.Option(None, "--sheet", help="The sheet of a workbook to read (default: the mapping's, else the first)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and say what would be imported; write nothing."),
        date_format: Optional[str] = typer.Option(
            None, "--date-format", help="How the register writes dates as text (\"%d/%m/%Y\" reads 14/03/2014), stated for this "
            "import: replaces the mapping's date_format, and confirms it where the dates read as well with day and month swapped."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Register every child of a register file, in one commit.

        Every row is checked first: one bad cell and nothing is written, and every bad cell is
        listed (sheet, row, column and why; never the value); so is a heading misspelt for a
        field's (did you mean ...?) and a row that repeats a row before it exactly. Probable
        duplicates are flagged; a row a case's registration already says (a register imported,
        then kept) is left out. A dry run names rows, the cases having no ID yet.
        When every date of a column reads both as the date_format and with day and month swapped
        (every day is the 12th or before), some differently, the import is refused until
        --date-format states which is right.

        Example: cpcm import cases register.xlsx --mapping mapping.yaml --dry-run
        """
        from cpcm import service
        from cpcm.store import sheets

        ctx = open_ctx(repo, identity)
        document = read_yaml_input(str(mapping), "--mapping") if mapping is not None else None
        wanted = sheet or (document.get("sheet") if isinstance(document, dict) and isinstance(document.get("sheet"), str) else None)
        table = sheets.read(file, wanted)
        result = with_progress(lambda tick: service.import_cases(ctx, table, document, dry_run, tick, date_format),
                               len(table.rows) * (1 if dry_run else 2), "register rows")
        if json_out:
            print_json(result.to_json())
            return
        for warning in result.warnings:
            warn(warning)
        before = result.extra.get("already_imported")
        if before:
            from cpcm.domain.dates import local_text

            say(f"this register was imported already: {before['count']} cases in one commit ({before['commit'][:10]}, "
                f"{local_text(before['at'], ctx.zone)}); nothing was written")
            for entry in before["cases"]:
                typer.echo(f"row {entry['row']}\t{entry['case_id']}" if entry["row"] is not None else entry["case_id"])
        elif not result.extra["checked"] - len(result.extra["already_in"]):
            say(f"{result.extra['checked']} rows checked: every one is in the repository already (above); nothing "
                + ("would be written" if dry_run else "was written"))
        elif dry_run:
            held = len(result.extra["already_in"])
            say(f"{result.extra['checked']} rows checked: "
                + (f"{result.extra['checked'] - held} can be imported, {held} in the repository already (above) are left out"
                   if held else "every one can be imported") + " (nothing written; run again without --dry-run)")
        else:
            held = len(result.extra["already_in"])
            say(f"{result.extra['imported']} case{'' if result.extra['imported'] == 1 else 's'} registered in one commit"
                + (f"; {held} rows in the repository already (above) were left out" if held else ""))
            for entry in result.extra["cases"]:
                typer.echo(f"row {entry['row']}\t{entry['case_id']}")
        for step in result.next_steps:
            say(f"{'would be: ' if dry_run else 'next: '}{step}")

    @group.command("template")
    def template(
        out_dir: Path = typer.Option(Path("."), "--out-dir", help="Where to write mapping.yaml and register-example.csv."),
        force: bool = typer.Option(False, "--force", help="Replace files of those names that already exist."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Write a starting mapping file and an example register (invented children) to fill in.

        Example: cpcm import template --out-dir ~/import
        """
        from cpcm import service
        from cpcm.cli.common import a_file, check_output, identity_path, register_plain, write_plain

        a_file(out_dir, "--out-dir")  # two files, in a folder
        ctx = open_ctx(repo, identity, need_identity=False)
        mapping_text, example = service.import_template(ctx)
        from cpcm.store.layout import inside

        if inside(ctx.root, out_dir.expanduser().resolve() / "mapping.yaml"):  # before the folder is made: nothing is made there
            from cpcm.errors import Refused

            raise Refused("a plaintext file is never written inside the casefile repository",
                          "Write it somewhere else (--out-dir ~/import).", rule="plaintext-in-repository")
        try:
            out_dir.expanduser().mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            from cpcm.errors import UsageError

            raise UsageError("--out-dir cannot be made", "Give a folder you may write to.") from None
        files = (("mapping.yaml", mapping_text), ("register-example.csv", example))
        for name, _ in files:  # both or neither
            check_output(ctx.root, out_dir / name, "--out-dir", force, plaintext=True, encryptable=False)
        written = []
        for name, text in files:  # invented children only: registered when the key's public half is known
            path = write_plain(ctx.root, out_dir / name, "--out-dir", text.encode(), force)
            register_plain(path, text.encode(), "import template", identity=identity_path(identity), case_data=False)
            written.append(str(path))
        if json_out:
            print_json({"written": written})
        else:
            for name, _ in files:
                say(f"wrote {name} in the --out-dir folder")
