import pytest

from simlab.cli import CliError, ShardLines, build_parser, next_page_command, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("never", -1), (None, 0)],
)
def test_share_expiry_durations(text: str | None, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["7", "7 days", "-1d", "1y", "0", "0d"])
def test_a_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(CliError, match="--expires"):
        parse_duration(text)


def test_lines_are_joined_per_shard_across_chunks() -> None:
    lines = ShardLines()
    assert lines.feed(0, b"sta") == []
    assert lines.feed(1, b"one\ntw") == [(1, "one")]
    assert lines.feed(0, b"rt\n") == [(0, "start")]
    assert lines.rest() == [(1, "tw")]


def test_the_next_page_keeps_the_filters_that_made_the_token() -> None:
    args = build_parser().parse_args(
        ["list", "--model", "pi", "--state", "running", "--state", "failed", "--id", "3f"]
    )
    assert next_page_command(args, "TOKEN") == (
        "simlab list --model pi --state running --state failed --id 3f --page-token TOKEN"
    )
    plain = build_parser().parse_args(["list", "--limit", "5"])
    assert next_page_command(plain, "a b") == "simlab list --limit 5 --page-token 'a b'"
