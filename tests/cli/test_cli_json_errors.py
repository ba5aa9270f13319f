"""A failing command given ``--json`` reports one JSON object on stderr, with the exit code it always had."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli.main import app
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("json-errors")
    wb = Workbench.open(str(path), mailer=None)
    try:
        bootstrap(wb)
    finally:
        wb.store.close()
    return path


def failed(data: Path, *args: str, code: int) -> dict[str, str]:
    """The error object of a run that exited ``code``, stdout left empty for the result it did not have."""
    result = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    return json.loads(result.stderr)["error"]


def test_not_found_is_its_domain_kind(data):
    assert failed(data, "annotation", "show", "nope", "--json", code=1) == {"code": "not_found", "message": "Annotation not found"}
    # A write's refusal too, and the message is the text line's: the refused input's ESC shown as \x1b, never sent raw.
    error = failed(data, "annotation", "assign", "nope\x1b[2J", "me", "--json", code=1)
    assert error["code"] == "not_found" and "\x1b" not in error["message"]


def test_bad_input_keeps_its_exit_code(data):
    error = failed(data, "annotations", "list", "--since", "bogus\x1b]52;c;x\x07", "--json", code=2)
    assert error["code"] == "invalid" and error["message"].startswith("Invalid since")
    assert "\x1b" not in error["message"] and "\x07" not in error["message"] and "\\x1b" in error["message"]
    assert failed(data, "annotation", "show", "x", "--json", "--markdown", code=2)["code"] == "usage_error"


@pytest.mark.parametrize("listing", [("annotations", "list"), ("annotations", "list", "--query", "age:<1h")])
def test_a_bad_cursor_is_a_bad_parameter_as_a_bad_since_is(data, listing):
    """Both are an option's value that cannot be used: README's exit code 2 for a usage error. A bad
    --since exited 2 and a bad --cursor 1, each with the code `invalid`."""
    error = failed(data, *listing, "--cursor", "garbage", "--json", code=2)
    assert error == {"code": "invalid", "message": "Invalid cursor"}
    plain = runner.invoke(app, [*listing, "--cursor", "garbage", "--data-dir", str(data)])
    assert (plain.exit_code, plain.stderr) == (2, "error: Invalid cursor\n")


@pytest.mark.parametrize(("args", "code"), [
    (("annotations", "list", "--bogus", "--json"), "no_such_option"),
    (("annotations", "list", "--limit", "abc", "--json"), "bad_parameter"),  # refused before --json is parsed
    (("annotation", "show", "--json"), "missing_parameter"),
])
def test_usage_errors_from_click(data, args, code):
    error = failed(data, *args, code=2)
    assert error["code"] == code and error["message"]


def test_a_misspelt_command_asked_for_json_answers_in_json(data):
    # The group refuses the name before any command is known: --json among the words decides.
    error = failed(data, "annotation", "lst", "--json", code=2)
    assert error["code"] == "usage_error" and "No such command 'lst'" in error["message"]
    assert failed(data, "anotations", "list", "--json", code=2)["code"] == "usage_error"
    refused = runner.invoke(app, ["annotation", "lst", "--data-dir", str(data)])
    assert refused.exit_code == 2 and "No such command 'lst'" in refused.stderr and not refused.stderr.startswith("{")


def test_without_json_the_output_is_as_before(data):
    result = runner.invoke(app, ["annotation", "show", "nope", "--data-dir", str(data)])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "error: Annotation not found\n")
    usage = runner.invoke(app, ["annotations", "list", "--bogus", "--data-dir", str(data)])
    assert usage.exit_code == 2 and "No such option: --bogus" in usage.stderr and not usage.stderr.startswith("{")
    # A command without --json is told of the unknown option in words, and `--` makes --json an argument.
    for args in (["serve", "--json"], ["annotation", "reply", "x", "--", "--json", "extra"]):
        refused = runner.invoke(app, [*args, "--data-dir", str(data)])
        assert refused.exit_code == 2 and not refused.stderr.startswith("{"), refused.stderr


@pytest.mark.parametrize("args", [
    ("annotation", "show", "ab\udcffc"),
    ("annotation", "set-status", "ab\udcffc", "ack"),
    ("annotations", "list", "--site", "ab\udcffc"),
    ("sites", "snippet", "ab\udcffc"),
])
def test_an_argument_that_is_not_utf8_is_a_bad_parameter_in_words(data, args):
    """Bytes that are no UTF-8 reach Python as lone surrogates (PEP 383): every id argument was
    sqlite3's UnicodeEncodeError as a traceback, and no JSON for a script that asked for it."""
    error = failed(data, *args, "--json", code=2)
    assert error == {"code": "bad_parameter", "message": "'ab\\xffc' is not UTF-8 text: give ids and text in UTF-8"}
    said = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert (said.exit_code, said.stdout, said.stderr) == (2, "", "error: 'ab\\xffc' is not UTF-8 text: give ids and text in UTF-8\n")


@pytest.mark.parametrize("args", [
    ("annotation", "resolve", "nope", "--summary", "ab\udcffc"),
    ("annotation", "set-status", "nope", "duplicate", "--summary", "ab\udcffc"),
    ("annotation", "reply", "nope", "ab\udcffc"),
])
def test_text_that_is_not_utf8_is_the_same_bad_parameter_as_an_id(data, args):
    """QA: the same bytes in a --summary or a reply's message reached the request model, not the
    store: pydantic's "Input should be a valid string, unable to parse raw data as a unicode
    string", a refusal (exit 1, code invalid), where README names such an argument a usage error."""
    error = failed(data, *args, "--json", code=2)
    assert error == {"code": "bad_parameter", "message": "'ab\\xffc' is not UTF-8 text: give ids and text in UTF-8"}
    said = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert (said.exit_code, said.stdout, said.stderr) == (2, "", "error: 'ab\\xffc' is not UTF-8 text: give ids and text in UTF-8\n")


@pytest.mark.parametrize("args", [
    ("annotations", "list", "--query", "\udcff"),
    ("annotations", "list", "--since", "ab\udcffc"),
    ("sites", "snippet", "nope", "--base", "https://ab\udcffc.example"),
    ("annotation", "attach", "nope", "--explanation", "\udcff"),
    ("sync", "status", "--remote", "ab\udcffc"),
])
def test_every_text_option_that_is_not_utf8_is_refused_before_the_command_runs(data, args):
    """Each command met the bytes its own way: --query searched for them and echoed them back in
    its JSON as bytes no UTF-8 reader takes (exit 0), snippet --base put them in the tag (exit 0),
    --explanation read as none given, --since and --remote quoted them as '\\udcff'."""
    error = failed(data, *args, "--json", code=2)
    assert error["code"] == "bad_parameter" and error["message"].endswith("' is not UTF-8 text: give ids and text in UTF-8")
    assert "\\xff" in error["message"] and "udcff" not in error["message"]
    said = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert (said.exit_code, said.stdout) == (2, "") and said.stderr.startswith("error: '")


def test_a_path_may_hold_any_bytes_its_file_system_does(data, tmp_path):
    odd = tmp_path / "data-\udcff"
    listed = runner.invoke(app, ["workspaces", "--json", "--data-dir", str(odd)])
    assert listed.exit_code == 0, listed.stderr


@pytest.mark.parametrize("args", [
    ("annotations", "list", "--site", ""),
    ("annotations", "list", "--query", "checkout", "--site", " "),
    ("personas", "list", "--category", ""),
    ("annotation", "personas", "nope", "--persona", ""),
])
def test_an_empty_name_is_a_bad_parameter_not_the_default(data, args):
    """`--site ""` listed the first site, with --query every site (answering `"site_id": ""`), and
    `--category ""` every persona: a script's unset variable got another listing than it asked for."""
    error = failed(data, *args, "--json", code=2)
    assert error["code"] == "bad_parameter" and error["message"].startswith(f"{args[-2]} is empty")
    plain = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert (plain.exit_code, plain.stdout) == (2, "") and plain.stderr.startswith("error: ") and plain.stderr.count("\n") == 1


@pytest.mark.parametrize(("args", "option"), [
    (("annotation", "attach", "nope", "--after", "", "--data-dir", "{data}"), "--after"),
    (("annotation", "attach", "nope", "--before", "", "--diff-url", "https://x.example/1", "--data-dir", "{data}"), "--before"),
    (("sites", "list", "--data-dir", ""), "--data-dir"),
    (("--data-dir", "", "sites", "list"), "--data-dir"),
    (("--data-dir", ""), "--data-dir"),  # the TUI
    (("admin", "migrate-store", "--from", "", "--to", "postgresql://nobody@127.0.0.1:9/none", "--dry-run"), "--from"),
])
def test_an_empty_path_is_a_bad_parameter_naming_its_option(data, tmp_path, monkeypatch, args, option):
    """Typer reads "" as Path("."), the working directory: `--after ""` (a script's unset variable) was
    refused as "`.` is a directory", and `--data-dir ""` or `--from ""` used the directory the command
    ran in, `--data-dir ""` making a store there. Each Path option refuses it, naming itself."""
    monkeypatch.chdir(tmp_path)
    args = tuple(a.replace("{data}", str(data)) for a in args)
    # The group's own --data-dir is refused before a command's --json is read: that one is in words.
    for as_json in (False, True) if args[0] != "--data-dir" else (False,):
        result = runner.invoke(app, [*args, *(["--json"] if as_json else [])])
        assert (result.exit_code, result.stdout) == (2, ""), (result.stdout, result.stderr, result.exception)
        said = result.stderr.splitlines()[0]
        if as_json:
            error = json.loads(said)["error"]
            assert error["code"] == "bad_parameter"
            said = error["message"]
        else:
            assert said.startswith("error: ") and result.stderr.splitlines()[1].startswith("Try '")
        assert f"Invalid value for '{option}'" in said and 'empty: give a path ("" would be read as ".", the current directory)' in said
    assert list(tmp_path.iterdir()) == []  # no store made in the working directory


def test_a_data_dir_that_is_a_file_is_still_refused(data, tmp_path):
    """`--data-dir` lost Click's check of a file there with the parser that refuses "": it is its own now."""
    afile = tmp_path / "afile"
    afile.write_text("")
    result = runner.invoke(app, ["sites", "list", "--json", "--data-dir", str(afile)])
    assert (result.exit_code, result.stdout) == (2, ""), (result.stdout, result.stderr, result.exception)
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "bad_parameter" and error["message"].startswith("Invalid value for '--data-dir'")
    assert error["message"].endswith("' is a file, not a directory")  # the path quoted, cut as usage errors cut it


@pytest.mark.parametrize(("args", "said"), [
    (("annotations", "list", "--bogus"), "No such option: --bogus"),
    (("annotations", "list", "--status", "bogus"), "Invalid value for '--status': 'bogus' is not one of 'new', 'ack'"),
    (("annotation", "set-status", "x", "bogus"), "Invalid value for 'status': 'bogus' is not one of"),
    (("annotations", "lst"), "No such command 'lst'."),
    (("annotation", "show"), "Missing argument"),
    (("annotations", "list", "--limit", "\x1b[2J"), "Invalid value for '--limit'"),
])
def test_a_refused_command_line_is_one_error_line_and_where_help_is(data, args, said):
    """Typer drew Click's refusal in a box, its message wrapped over framed lines at the terminal's
    width: piped to a log, `grep '^error:'` found nothing, and the message came in pieces."""
    result = runner.invoke(app, [*args, "--data-dir", str(data)], env={"COLUMNS": "80"})
    assert (result.exit_code, result.stdout) == (2, "")
    error, hint = result.stderr.splitlines()
    assert error.startswith(f"error: {said}"), error
    assert "Value error" not in error and "\x1b" not in result.stderr
    assert hint.startswith("Try '") and hint.endswith(" -h' for help.")
    if "--status" in args:
        assert failed(data, *args, "--json", code=2)["message"] == error.removeprefix("error: ")


@pytest.mark.parametrize(("args", "said"), [
    (("x" * 20_000,), "No such command '" + "x" * 60 + "…'."),
    (("annotations", "\x1b]52;c;" + "y" * 20_000), "No such command '\\x1b]52;c;" + "y" * 50 + "…'."),
    (("annotations", "list", "--" + "z" * 20_000), "No such option: --" + "z" * 58 + "…"),
    (("annotations", "list", "--bogus\x1b[2J\nfake"), "No such option: --bogus\\x1b[2J\\x0afake"),
    (("annotation", "show", "a", *("b" * 10 for _ in range(2_000))), "Got unexpected extra argument(s) (bbbbbbbbbb bbbbbbbbbb"),
])
def test_a_refused_command_line_quotes_a_bounded_part_of_it_on_one_line(data, args, said):
    """`workbench $(python3 -c 'print("x"*20000)')` echoed the 20 KB word whole in its error line:
    what Click quotes of the command line is cut to 60 characters and "…" (the line to 400), its
    control characters shown, never sent, and a line break in it never starts a second line."""
    result = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert (result.exit_code, result.stdout) == (2, "")
    error, hint = result.stderr.splitlines()
    assert error == f"error: {said}" or (error.startswith(f"error: {said}") and len(error) == len("error: ") + 400), error
    assert "\x1b" not in result.stderr and hint.startswith("Try '")
    assert failed(data, *args, "--json", code=2)["message"] == error.removeprefix("error: ")


@pytest.mark.parametrize(("qualifier", "example"), [
    ("site:", 'e.g. site:"Acme shop"'), ("page:", "e.g. page:/checkout"), ("author:", "e.g. author:maria"), ("status:", "e.g. status:new"),
])
def test_a_qualifier_without_a_value_shows_a_whole_example(data, qualifier, example):
    """The example was its description cut at the first space: 'site:"Acme' (an unclosed quote to
    copy) and 'page:/checkout:' (with the colon that introduced what it means)."""
    error = failed(data, "annotations", "list", "--query", qualifier, "--json", code=2)
    assert error["message"] == f"{qualifier} needs a value, {example}"
