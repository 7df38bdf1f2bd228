"""The widget settings' rules and avatar sniffing (pure functions, no database)."""

from __future__ import annotations

import pytest

from bots.appearance import (
    AvatarRejected,
    initials,
    sniff_avatar,
    suggested_questions_clean,
    theme_color_clean,
)

from .images import gif_header, jpeg_header, png, webp_vp8x_header

LIMIT = 256 * 1024


@pytest.mark.parametrize(("value", "expected"), [("#2F6F8F", "#2f6f8f"), (" #abcdef ", "#abcdef")])
def test_theme_colour_is_six_hex_digits_in_lower_case(value, expected):
    assert theme_color_clean(value) == expected


@pytest.mark.parametrize("value", ["red", "#fff", "#12345g", "2f6f8f", "#2f6f8f;x:y", ""])
def test_theme_colour_refuses_anything_else(value):
    with pytest.raises(ValueError, match="six hex digits"):
        theme_color_clean(value)


def test_suggested_questions_are_trimmed_and_at_most_four():
    assert suggested_questions_clean(["  When   do you open? ", "Returns?"]) == [
        "When do you open?",
        "Returns?",
    ]
    assert suggested_questions_clean([]) == []
    with pytest.raises(ValueError, match="at most 4"):
        suggested_questions_clean(["a", "b", "c", "d", "e"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["Same?", "same?"], "listed twice"),
        (["  "], "cannot be empty"),
        (["x" * 201], "within 200"),
        ([1], "must be a string"),
        ("Returns?", "list of strings"),
    ],
)
def test_suggested_questions_refuse_bad_entries(values, message):
    with pytest.raises(ValueError, match=message):
        suggested_questions_clean(values)


def test_initials_come_from_the_first_two_words():
    assert initials("Demo shop assistant") == "DS"
    assert initials("zoë") == "Z"
    assert initials("") == "?"


@pytest.mark.parametrize(
    ("data", "extension", "size"),
    [
        (png(48, 32), "png", (48, 32)),
        (gif_header(20, 10), "gif", (20, 10)),
        (jpeg_header(640, 480), "jpg", (640, 480)),
        (webp_vp8x_header(300, 200), "webp", (300, 200)),
    ],
)
def test_avatar_type_and_size_are_read_from_the_bytes(data, extension, size):
    image = sniff_avatar(data, max_bytes=LIMIT)
    assert (image.extension, (image.width, image.height)) == (extension, size)
    assert image.content_type.startswith("image/")


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (b"", "empty", "empty"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "type", "SVG"),
        (b"<html><body>not an image</body></html>", "type", "not a PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "type", "damaged"),  # no IHDR: truncated
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "type", "damaged"),  # no frame header
        (png(1025, 10), "pixels", "1025×10"),
        (gif_header(10, 5000), "pixels", "limit is 1024"),
        (png(2, 2) + b"\x00" * LIMIT, "bytes", "limit is 256 KiB"),
    ],
)
def test_bad_avatars_are_refused_with_a_reason(data, kind, message):
    with pytest.raises(AvatarRejected) as refused:
        sniff_avatar(data, max_bytes=LIMIT)
    assert refused.value.kind == kind
    assert message in refused.value.reason
